//! Every subject type × NameID format, for connected apps and External Client Apps, by the three
//! flows (SP-initiated HTTP-Redirect and HTTP-POST, IdP-initiated): xmlsec1 verifies both
//! signatures with the metadata's certificate and pysaml2, configured from that metadata only,
//! accepts the response with the expected NameID, format and attributes.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::saml::flow::{FLOWS, signed_in};
use crate::saml::sp::Sp;
use crate::saml::{AGENT, App, Kind, config, create, session, sp_id, start, user_id};

use salesforce_sim::sp_driver::{NAME_ID_FORMATS as FORMATS, SUBJECT_TYPES as SUBJECTS};

fn attr(v: &Value, name: &str) -> Value {
    v["attributes"][name].clone()
}

async fn matrix(kind: Kind) {
    let s = start();
    session(&s, AGENT).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sp = Sp::start();
    let agent_id = user_id(&s, AGENT).await;
    let mut persistent_ids = BTreeSet::new();
    for subject in SUBJECTS {
        for (format, urn) in FORMATS {
            let name = format!("{kind:?}_{subject}_{format}");
            let mut app = App::new(&name);
            app.subject = subject;
            app.format = format;
            if subject == "CustomAttribute" {
                app.subject_attr = Some("extension");
            }
            create(&s, kind, &app).await;
            let cfg = config(&s, &app, dir.path()).await;
            let login = sp_id(&s, &name).await;
            let mut seen = BTreeSet::new();
            for flow in FLOWS {
                let relay = format!("/home?flow={flow:?}");
                let (v, _) =
                    signed_in(&s, &mut sp, &cfg, flow, &login, Some(&relay), dir.path()).await;
                let what = format!("{name} {flow:?}: {v}");
                assert_eq!(v["nameIdFormat"], urn, "{what}");
                let name_id = v["nameId"].as_str().expect("nameId").to_owned();
                let expected = match subject {
                    "Username" => Some(AGENT.to_owned()),
                    "FederationId" => Some("agent1".to_owned()),
                    "UserId" => Some(agent_id[..15].to_owned()),
                    "CustomAttribute" => Some("4711".to_owned()),
                    _ => None,
                };
                match expected {
                    Some(e) => assert_eq!(name_id, e, "{what}"),
                    None => assert!(name_id.len() >= 16 && !name_id.contains(AGENT), "{what}"),
                }
                seen.insert(name_id);
                assert_eq!(v["issuer"], "https://acme.my.salesforce.com", "{what}");
                assert_eq!(v["audience"], json!([app.entity_id]), "{what}");
                assert_eq!(attr(&v, "username"), json!([AGENT]), "{what}");
                assert_eq!(attr(&v, "userId"), json!([&agent_id[..15]]), "{what}");
                assert_eq!(
                    attr(&v, "email"),
                    json!(["agent.one@acme.example"]),
                    "{what}"
                );
                assert_eq!(attr(&v, "is_portal_user"), json!(["false"]), "{what}");
                assert_eq!(attr(&v, "extension"), json!(["4711"]), "{what}");
                assert_eq!(
                    attr(&v, "team"),
                    json!(["Voice/Contact Center Agent"]),
                    "{what}"
                );
            }
            // One value per user and app, whatever the flow.
            assert_eq!(seen.len(), 1, "{name}: {seen:?}");
            if subject == "PersistentId" {
                persistent_ids.extend(seen);
            }
        }
    }
    // Persistent ids differ between apps.
    assert_eq!(persistent_ids.len(), FORMATS.len(), "{persistent_ids:?}");
}

#[tokio::test]
async fn connected_apps_every_subject_type_and_name_id_format() {
    matrix(Kind::Connected).await;
}

#[tokio::test]
async fn external_client_apps_every_subject_type_and_name_id_format() {
    matrix(Kind::External).await;
}
