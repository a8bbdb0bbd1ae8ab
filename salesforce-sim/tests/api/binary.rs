//! The `salesforce-sim` executable's contract (docs/simulator.md, "Running"), which
//! `hack/demo.sh` and `hack/bench/bench.py` rely on: the first stdout line, `--self-signed-ca-out`,
//! `--control`, `--http`, exit 0 on SIGTERM; and the org files they start it with.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use salesforce_sim::OrgFile;

use crate::harness;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Starts the binary with `args`; returns it and its first stdout line.
fn spawn(args: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_salesforce-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn salesforce-sim");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("simulator did not print its URL within 60 s");
    (child, line)
}

/// SIGTERM, then the exit status.
fn terminate(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    child.wait().expect("wait")
}

#[tokio::test]
async fn binary_serves_https_with_its_ca_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let key = harness::client_key();
    std::fs::write(dir.path().join("client.pem"), &key.cert_pem).unwrap();
    let org = dir.path().join("org.yaml");
    std::fs::write(&org, harness::org(false).to_yaml().unwrap()).unwrap();
    let ca = dir.path().join("ca.pem");
    let (child, line) = spawn(&[
        "--org-file".as_ref(),
        org.as_os_str(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--self-signed-ca-out".as_ref(),
        ca.as_os_str(),
        "--control".as_ref(),
        "--latency-ms".as_ref(),
        "1".as_ref(),
    ]);
    let url = line
        .trim()
        .strip_prefix("listening on https://localhost:")
        .map(|port| format!("https://localhost:{port}"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let pem = std::fs::read(&ca).expect("CA written before the first line");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let state: serde_json::Value = client
        .get(format!("{url}/__sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["orgId"], "00D5g000000SIMUEAA");
    assert!(state["connectedApps"].get("Existing_Telephony").is_some());
    let status = terminate(child);
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn binary_serves_http_without_controls() {
    let example = repo_root().join("deploy/examples/salesforce-sim-org.yaml");
    let (child, line) = spawn(&[
        "--org-file".as_ref(),
        example.as_os_str(),
        "--http".as_ref(),
    ]);
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://localhost:"), "{url}");
    let r = reqwest::get(format!("{url}/__sim/state")).await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = reqwest::get(format!("{url}/services/data/")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(terminate(child).code(), Some(0));
}

#[test]
fn org_files_load_and_round_trip() {
    let example = repo_root().join("deploy/examples/salesforce-sim-org.yaml");
    let file = OrgFile::read(&example).unwrap();
    assert_eq!(file.org_id, "00D5g000000SIMUEAA");
    assert_eq!(OrgFile::from_yaml(&file.to_yaml().unwrap()).unwrap(), file);
    salesforce_sim::load(&example).expect("the example org loads");

    let org = harness::org(true);
    assert_eq!(OrgFile::from_yaml(&org.to_yaml().unwrap()).unwrap(), org);
    // Everything but orgId and myDomain has a default.
    let minimal = OrgFile::from_yaml("orgId: 00D5g000000SIMU\nmyDomain: x.my.salesforce.com\n");
    assert_eq!(
        minimal.unwrap(),
        OrgFile {
            org_id: "00D5g000000SIMU".into(),
            my_domain: "x.my.salesforce.com".into(),
            ..OrgFile::default()
        }
    );
    let unknown = OrgFile::from_yaml("orgId: 00D5g000000SIMU\nmyDomain: x\nnope: 1\n");
    assert!(unknown.unwrap_err().contains("nope"));
}
