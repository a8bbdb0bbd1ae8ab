# Included from the top-level Makefile.

.PHONY: manifests
## manifests: regenerate deploy/manifests/ from charts/sso-operator (tests/offline/chart/deployment.rs checks they match)
manifests:
	hack/render-manifests.sh

.PHONY: static-binary-check
## static-binary-check: build the image's release binary and prove it needs nothing from the base image
static-binary-check:
	hack/check-static-binary.sh
