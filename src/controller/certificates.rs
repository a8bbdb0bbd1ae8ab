//! The org's certificates as the operator needs them beyond the IdP's own (a rotation's next or
//! previous key), read once per refresh interval and shared by every app of the org.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::org_api::OrgApi;
use crate::salesforce::{CertInfo, ReadPriority, SalesforceError, pem_cert_info};

#[derive(Default)]
pub struct CertificateCache {
    read: Mutex<HashMap<String, (Instant, Option<CertInfo>)>>,
}

impl CertificateCache {
    /// Certificate `name` of the org (`None`: no such certificate, or the org does not return its
    /// content), no older than `max_age`.
    pub async fn get(
        &self,
        api: &impl OrgApi,
        name: &str,
        max_age: Duration,
    ) -> Result<Option<CertInfo>, SalesforceError> {
        if let Some((at, info)) = self.lock().get(name)
            && at.elapsed() < max_age
        {
            return Ok(info.clone());
        }
        let info = api
            .read_certificate(name, ReadPriority::Required)
            .await?
            .and_then(|c| c.content)
            .and_then(|pem| pem_cert_info(&String::from_utf8_lossy(&pem)).ok());
        self.lock()
            .insert(name.to_string(), (Instant::now(), info.clone()));
        Ok(info)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<CertInfo>)>> {
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }
}
