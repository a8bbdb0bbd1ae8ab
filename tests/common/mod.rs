//! The one harness of the operator's integration tests, a module of every test binary
//! (`mod common;`); each binary uses the parts it needs:
//! - `cluster`: the control plane (kube-apiserver + etcd), found or started once per binary;
//! - `sim`: the simulated Salesforce org, started in this process from the simulator's typed
//!   `OrgFile`, and its `/__sim/` controls;
//! - `e2e`: an environment for one test: namespace, org, the operator run as a process, the
//!   manifests;
//! - `client`: the org of the Salesforce client's tests, and how the client reaches it;
//! - `keys`: private keys the client must refuse (usable ones come from the simulator);
//! - `hostile_xml`: XML bombs for the parsers;
//! - `repo`: the repository's files and tools (`sso-operator crd`, helm);
//! - `sp`: a SAML service provider that is not part of this project (pysaml2), `xmlsec1`.
// Not every binary uses every part.
#![allow(dead_code)]

pub mod client;
pub mod cluster;
pub mod e2e;
pub mod hostile_xml;
pub mod keys;
pub mod repo;
pub mod sim;
pub mod sp;
