// Command health-check reads Kubernetes objects (JSON files) and prints, for each, the health the
// shipped Argo CD checks give it and the status Flux's kstatus library computes for it, as one
// JSON array:
//
//	health-check -argocd-cm deploy/argocd/argocd-cm-patch.yaml obj1.json obj2.json ...
//
// With -cases FILE (YAML: a list of {file, argocd, kstatus}, files relative to FILE's folder) it
// checks each object against the expected pair instead and exits 1 on any difference; with
// -lua-dir DIR it first checks that every health script in the argocd-cm file equals
// DIR/<group>_<Kind>.lua and that every such file is in it. `make argocd-health` runs both.
//
// The Lua script of an object is picked from the argocd-cm patch by the key Argo CD uses,
// resource.customizations.health.<group>_<kind>, and run in gopher-lua the way Argo CD runs a
// custom health check from argocd-cm: a VM without the standard libraries (useOpenLibs off),
// with only the package, base and table libraries opened (Argo CD adds a reduced os library,
// which the scripts do not use), the object as the global `obj`, a one-second deadline, and the
// returned table's `status` checked against Argo CD's health codes. As in gitops-engine, an
// object with a deletionTimestamp is Progressing ("Pending deletion") before any script runs.
// Built (once, cached outside the repo) by hack/go-tool.sh.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

// Verdict is what one tool says about one object.
type Verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// Report is the line printed for one object file.
type Report struct {
	File    string  `json:"file"`
	Kind    string  `json:"kind"`
	Name    string  `json:"name"`
	ArgoCD  Verdict `json:"argocd"`
	KStatus Verdict `json:"kstatus"`
}

// Argo CD's health status codes (gitops-engine pkg/health).
var argoCodes = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

// Case is one expected verdict pair of a -cases file.
type Case struct {
	File    string `json:"file"`
	ArgoCD  string `json:"argocd"`
	KStatus string `json:"kstatus"`
}

const scriptPrefix = "resource.customizations.health."

func main() {
	cmPath := flag.String("argocd-cm", "", "the argocd-cm ConfigMap (or patch) holding the health scripts")
	casesPath := flag.String("cases", "", "check the objects listed in this YAML file against their expected verdicts")
	luaDir := flag.String("lua-dir", "", "check that the argocd-cm scripts equal DIR/<group>_<Kind>.lua")
	flag.Parse()
	if *cmPath == "" || (flag.NArg() == 0) == (*casesPath == "") {
		fmt.Fprintln(os.Stderr, "usage: health-check -argocd-cm FILE [-lua-dir DIR] (-cases FILE | OBJECT.json...)")
		os.Exit(2)
	}
	scripts, err := readScripts(*cmPath)
	if err != nil {
		fail(err)
	}
	if *luaDir != "" {
		if err := sameScripts(scripts, *luaDir); err != nil {
			fail(fmt.Errorf("%s and %s differ (run make argocd-cm): %w", *cmPath, *luaDir, err))
		}
	}
	if *casesPath != "" {
		os.Exit(checkCases(*casesPath, scripts))
	}
	reports := make([]Report, 0, flag.NArg())
	for _, file := range flag.Args() {
		r, err := assess(file, scripts)
		if err != nil {
			fail(fmt.Errorf("%s: %w", file, err))
		}
		reports = append(reports, r)
	}
	out, _ := json.MarshalIndent(reports, "", "  ")
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "health-check:", err)
	os.Exit(1)
}

// readScripts returns the `data` of the ConfigMap in path.
func readScripts(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	// Only data matters; a patch also carries apiVersion, kind and metadata.
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		return nil, err
	}
	return cm.Data, nil
}

// sameScripts checks that the health scripts in the ConfigMap data are exactly the .lua files of dir.
func sameScripts(scripts map[string]string, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.lua"))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, f := range files {
		key := scriptPrefix + strings.TrimSuffix(filepath.Base(f), ".lua")
		want, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		got, ok := scripts[key]
		if !ok {
			return fmt.Errorf("%s has no key %s", "the ConfigMap", key)
		}
		if got != string(want) {
			return fmt.Errorf("%s is not the content of %s", key, f)
		}
		seen[key] = true
	}
	for key := range scripts {
		if strings.HasPrefix(key, scriptPrefix) && !seen[key] {
			return fmt.Errorf("%s has no file in %s", key, dir)
		}
	}
	if len(seen) == 0 {
		return fmt.Errorf("no .lua file in %s", dir)
	}
	return nil
}

// checkCases compares each listed object's verdicts with the expected ones; the exit code.
func checkCases(path string, scripts map[string]string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	var cases []Case
	if err := yaml.UnmarshalStrict(raw, &cases); err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
	if len(cases) == 0 {
		fail(fmt.Errorf("%s lists no case", path))
	}
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].File < cases[j].File })
	failed := 0
	for _, c := range cases {
		r, err := assess(filepath.Join(filepath.Dir(path), c.File), scripts)
		if err != nil {
			fail(err)
		}
		verdict := "ok"
		if r.ArgoCD.Status != c.ArgoCD || r.KStatus.Status != c.KStatus {
			verdict = fmt.Sprintf("FAIL (expected Argo CD %s, kstatus %s)", c.ArgoCD, c.KStatus)
			failed++
		}
		fmt.Printf("%-42s Argo CD %-11s kstatus %-11s %s\n", c.File, r.ArgoCD.Status, r.KStatus.Status, verdict)
		if verdict != "ok" {
			fmt.Printf("    Argo CD message: %s\n    kstatus message: %s\n", r.ArgoCD.Message, r.KStatus.Message)
		}
	}
	if failed > 0 {
		fmt.Printf("health-check: %d of %d cases disagree with %s\n", failed, len(cases), path)
		return 1
	}
	fmt.Printf("health-check: %d cases, Argo CD (gopher-lua) and kstatus as expected\n", len(cases))
	return 0
}

// scriptKey is the argocd-cm key of a kind's health check.
func scriptKey(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	return scriptPrefix + gvk.Group + "_" + gvk.Kind
}

func assess(file string, scripts map[string]string) (Report, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return Report{}, err
	}
	u := &unstructured.Unstructured{}
	// The unstructured JSON decoder keeps integers as int64, as objects read from the API server
	// are in both Argo CD and Flux.
	if err := u.UnmarshalJSON(raw); err != nil {
		return Report{}, err
	}
	r := Report{File: file, Kind: u.GetKind(), Name: u.GetName()}
	script, ok := scripts[scriptKey(u)]
	if !ok {
		return r, fmt.Errorf("no %s in the argocd-cm data", scriptKey(u))
	}
	if u.GetDeletionTimestamp() != nil {
		// gitops-engine's GetResourceHealth answers this before any health check.
		r.ArgoCD = Verdict{Status: "Progressing", Message: "Pending deletion"}
	} else if r.ArgoCD, err = argoHealth(u, script); err != nil {
		return r, fmt.Errorf("lua: %w", err)
	}
	res, err := status.Compute(u)
	if err != nil {
		return r, fmt.Errorf("kstatus: %w", err)
	}
	r.KStatus = Verdict{Status: res.Status.String(), Message: res.Message}
	return r, nil
}

// argoHealth runs a health script on the object as Argo CD runs one from argocd-cm.
func argoHealth(u *unstructured.Unstructured, script string) (Verdict, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return Verdict{}, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, u.Object))
	if err := l.DoString(script); err != nil {
		return Verdict{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return Verdict{}, fmt.Errorf("the script returned %s, not a table", l.Get(-1).Type())
	}
	v := Verdict{Status: field(ret, "status"), Message: field(ret, "message")}
	if !argoCodes[v.Status] {
		// What Argo CD makes of a status it does not know.
		return Verdict{Status: "Unknown", Message: "Lua returned an invalid health status " + v.Status}, nil
	}
	return v, nil
}

func field(t *lua.LTable, name string) string {
	if s, ok := t.RawGetString(name).(lua.LString); ok {
		return string(s)
	}
	return ""
}

// toLua converts a decoded JSON value to Lua: objects and arrays to tables, numbers (int64 or
// float64) to numbers.
func toLua(l *lua.LState, v interface{}) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []interface{}:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]interface{}:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	default:
		return lua.LString(strings.TrimSpace(fmt.Sprint(x)))
	}
}
