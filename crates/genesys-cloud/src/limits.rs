//! The org's effective limits, read at run time, and the pacer seeded with them.

use crate::{Client, Result};
use std::collections::BTreeMap;
use std::time::Duration;

/// The namespace of the limits every call is under: the API's rates per token and per OAuth
/// client.
pub const PLATFORM_API: &str = "platform.api";

/// The org's effective limits in some namespaces
/// (`GET /api/v2/organizations/limits/namespaces/{namespace}`): each value by namespace and key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrgLimits {
    values: BTreeMap<(String, String), i64>,
}

impl OrgLimits {
    /// The value of `key` in `namespace` (`("platform.api", "token.rate.per.minute")`).
    pub fn get(&self, namespace: &str, key: &str) -> Option<i64> {
        self.values.get(&(namespace.to_owned(), key.to_owned())).copied()
    }

    /// Every limit read: namespace, key, value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, i64)> {
        self.values.iter().map(|((n, k), v)| (n.as_str(), k.as_str(), *v))
    }

    /// How many limits were read.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Requests each token may make a minute (`platform.api`, `token.rate.per.minute`).
    pub fn token_rate_per_minute(&self) -> Option<u32> {
        self.get(PLATFORM_API, "token.rate.per.minute").and_then(|v| u32::try_from(v).ok())
    }

    /// Requests an OAuth client may make a minute across its tokens, per org and user
    /// (`platform.api`, `org.app.user.rate.per.minute`): the budget to give a fleet
    /// (`Fleet::with_client_budget`).
    pub fn client_rate_per_minute(&self) -> Option<u32> {
        self.get(PLATFORM_API, "org.app.user.rate.per.minute").and_then(|v| u32::try_from(v).ok())
    }
}

impl Client {
    /// The org's effective limits in the namespaces this client uses: `platform.api`, the
    /// namespace of the rates every call is under (per token, per OAuth client), and the
    /// namespace of each API it has called so far ([`namespaces_used`](Self::namespaces_used)),
    /// one call each. Call it again later to cover APIs called since.
    pub async fn limits(&self) -> Result<OrgLimits> {
        self.limits_in(&self.namespaces_used()).await
    }

    /// The limit namespaces of the APIs this client has called so far, sorted, with
    /// `platform.api` always among them. A namespace belongs to a call when, its dots taken
    /// out, it names the call's tag (`Architect` → `architect`, `Workforce Management` →
    /// `workforce.management`, `Speech & Text Analytics` → `speech.and.text.analytics`) or its
    /// path: the first segment (`routing`, `users`), that segment in the singular
    /// (`conversations` → `conversation`), or the first two (`workforcemanagement/adherence`
    /// → `workforce.management.adherence`). Other namespaces are read with
    /// [`limits_in`](Self::limits_in).
    pub fn namespaces_used(&self) -> Vec<&'static str> {
        namespaces_of(&self.inner.transport.operations_used())
    }

    /// The org's effective limits in each of `namespaces` (`analytics`, `routing`, `users`, …:
    /// the spec's `Limit.namespace` values), one call each.
    pub async fn limits_in(&self, namespaces: &[&str]) -> Result<OrgLimits> {
        let mut limits = OrgLimits::default();
        for namespace in namespaces {
            let listing = self.organization().get_organizations_limits_namespace(*namespace).send().await?;
            for limit in listing.entities.unwrap_or_default() {
                if let (Some(key), Some(value)) = (limit.key, limit.value) {
                    let namespace = limit.namespace.map_or_else(|| (*namespace).to_owned(), |n| n.as_str().to_owned());
                    limits.values.insert((namespace, key), value);
                }
            }
        }
        Ok(limits)
    }

    /// Paces the client's tokens under the org's `token.rate.per.minute` from their first
    /// call, before any answer states it (answers then take over): a burst of first calls
    /// stays under it. `false` when `limits` has no such value or the client has no pacer.
    pub fn seed_pacer(&self, limits: &OrgLimits) -> bool {
        match (limits.token_rate_per_minute(), self.inner.transport.pacer()) {
            (Some(allowed), Some(pacer)) => {
                pacer.seed(allowed, Duration::from_secs(60));
                true
            }
            _ => false,
        }
    }
}

/// The spec's limit namespaces (`Limit.namespace`) the operations in `used` (path template,
/// tags) name, with `platform.api`; see [`Client::namespaces_used`].
fn namespaces_of(used: &[(&str, &[&str])]) -> Vec<&'static str> {
    let mut names = std::collections::BTreeSet::from([PLATFORM_API]);
    let flat_namespaces: Vec<(&'static str, String)> =
        genesys_cloud_models::LimitNamespace::VALUES.iter().map(|n| (*n, n.replace('.', ""))).collect();
    for (template, tags) in used {
        let mut segments = template.trim_start_matches("/api/v2/").split('/');
        let first = segments.next().unwrap_or_default();
        let second = segments.next().filter(|s| !s.starts_with('{')).unwrap_or_default();
        let singular = first.strip_suffix('s').unwrap_or(first);
        let mut said =
            vec![first.to_owned(), singular.to_owned(), format!("{first}{second}"), format!("{singular}{second}")];
        for tag in *tags {
            let flat: String = tag
                .replace('&', "and")
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            said.push(flat.strip_suffix('s').unwrap_or(&flat).to_owned());
            said.push(flat);
        }
        names.extend(flat_namespaces.iter().filter(|(_, flat)| said.contains(flat)).map(|(namespace, _)| *namespace));
    }
    names.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::namespaces_of;

    #[test]
    fn paths_name_their_namespaces() {
        let used = namespaces_of(&[
            ("/api/v2/users/{userId}", &["Users"]),
            ("/api/v2/routing/queues", &["Routing"]),
            ("/api/v2/conversations/{conversationId}", &["Conversations"]),
            ("/api/v2/workforcemanagement/adherence", &["Workforce Management"]),
            ("/api/v2/analytics/conversations/details/query", &["Conversations", "Analytics"]),
            ("/api/v2/flows", &["Architect"]),
            ("/api/v2/speechandtextanalytics/topics", &["Speech & Text Analytics"]),
            ("/api/v2/externalcontacts/contacts", &["External Contacts"]),
        ]);
        assert_eq!(
            used,
            [
                "analytics",
                "architect",
                "conversation",
                "external.contacts",
                "platform.api",
                "routing",
                "speech.and.text.analytics",
                "users",
                "workforce.management",
                "workforce.management.adherence"
            ]
        );
        assert_eq!(namespaces_of(&[]), ["platform.api"]);
    }
}
