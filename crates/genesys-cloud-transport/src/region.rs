//! The Genesys Cloud regions and their hosts, and custom endpoints (gateways).

use genesys_cloud_core::http::{self, Uri};
use genesys_cloud_core::Error;
use std::fmt;
use std::str::FromStr;

macro_rules! regions {
    ($($variant:ident => $key:literal, $host:literal;)*) => {
        /// A Genesys Cloud region (the 18 the official SDKs ship).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Region {
            $(
                #[doc = concat!("`", $key, "`: `https://", $host, "`")]
                $variant,
            )*
        }

        impl Region {
            /// Every region.
            pub const ALL: &'static [Region] = &[$(Region::$variant),*];

            /// The region key (`us_east_1`).
            pub fn key(self) -> &'static str {
                match self { $(Region::$variant => $key,)* }
            }

            /// The API host (`api.mypurecloud.com`).
            pub fn api_host(self) -> &'static str {
                match self { $(Region::$variant => $host,)* }
            }
        }
    };
}

regions! {
    UsEast1 => "us_east_1", "api.mypurecloud.com";
    EuWest1 => "eu_west_1", "api.mypurecloud.ie";
    ApSoutheast2 => "ap_southeast_2", "api.mypurecloud.com.au";
    ApNortheast1 => "ap_northeast_1", "api.mypurecloud.jp";
    EuCentral1 => "eu_central_1", "api.mypurecloud.de";
    UsWest2 => "us_west_2", "api.usw2.pure.cloud";
    CaCentral1 => "ca_central_1", "api.cac1.pure.cloud";
    ApNortheast2 => "ap_northeast_2", "api.apne2.pure.cloud";
    EuWest2 => "eu_west_2", "api.euw2.pure.cloud";
    ApSouth1 => "ap_south_1", "api.aps1.pure.cloud";
    UsEast2 => "us_east_2", "api.use2.us-gov-pure.cloud";
    SaEast1 => "sa_east_1", "api.sae1.pure.cloud";
    MeCentral1 => "me_central_1", "api.mec1.pure.cloud";
    ApNortheast3 => "ap_northeast_3", "api.apne3.pure.cloud";
    EuCentral2 => "eu_central_2", "api.euc2.pure.cloud";
    MxCentral1 => "mx_central_1", "api.mxc1.pure.cloud";
    ApSoutheast1 => "ap_southeast_1", "api.apse1.pure.cloud";
    EuscDeEast1 => "eusc_de_east_1", "api.edee1.eusc-pure.cloud";
}

impl Region {
    /// The login host: the API host with `api.` replaced by `login.`.
    pub fn login_host(self) -> String {
        format!("login.{}", &self.api_host()["api.".len()..])
    }

    /// The endpoint of this region.
    pub fn endpoint(self) -> Endpoint {
        Endpoint {
            api: Base::parse(&format!("https://{}", self.api_host())).expect("region hosts are valid"),
            login: Base::parse(&format!("https://{}", self.login_host())).expect("region hosts are valid"),
        }
    }
}

#[allow(clippy::derivable_impls)] // the enum comes from a macro
impl Default for Region {
    fn default() -> Self {
        Region::UsEast1
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Region {
    type Err = Error;

    /// Accepts the key (`us_east_1`), its dashed form (`us-east-1`) or an API host.
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Region::ALL
            .iter()
            .copied()
            .find(|r| r.key() == norm || r.api_host() == s.trim().trim_start_matches("https://").trim_end_matches('/'))
            .ok_or_else(|| Error::build(format!("unknown region {s:?}")))
    }
}

/// A base URL: scheme, authority and an optional path prefix (for gateways).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    prefix: String,
}

impl Base {
    /// Parses `https://host[:port][/prefix]`.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let uri: Uri = url.parse().map_err(|e| Error::build(format!("invalid base URL {url:?}: {e}")))?;
        let scheme = uri.scheme().cloned().ok_or_else(|| Error::build(format!("base URL {url:?} has no scheme")))?;
        if scheme != http::uri::Scheme::HTTPS && scheme != http::uri::Scheme::HTTP {
            return Err(Error::build(format!("base URL {url:?} must be http or https")));
        }
        let authority =
            uri.authority().cloned().ok_or_else(|| Error::build(format!("base URL {url:?} has no host")))?;
        Ok(Self { scheme, authority, prefix: uri.path().trim_end_matches('/').to_owned() })
    }

    /// The scheme.
    pub(crate) fn scheme(&self) -> &http::uri::Scheme {
        &self.scheme
    }

    /// The host and port.
    pub(crate) fn authority(&self) -> &http::uri::Authority {
        &self.authority
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == http::uri::Scheme::HTTPS
    }

    /// The host (without port).
    pub fn host(&self) -> &str {
        self.authority.host()
    }

    /// The absolute URI of an origin-form request URI: with no prefix, its parsed path and
    /// query are reused as they are.
    pub fn join_uri(&self, origin: &Uri) -> Result<Uri, Error> {
        match origin.path_and_query() {
            Some(pq) if self.prefix.is_empty() => {
                let mut parts = http::uri::Parts::default();
                parts.scheme = Some(self.scheme.clone());
                parts.authority = Some(self.authority.clone());
                parts.path_and_query = Some(pq.clone());
                Uri::from_parts(parts).map_err(|e| Error::build(format!("invalid request URI: {e}")))
            }
            pq => self.join(pq.map_or("/", |p| p.as_str())),
        }
    }

    /// The absolute URI of an origin-form path and query.
    pub fn join(&self, path_and_query: &str) -> Result<Uri, Error> {
        let pq =
            if self.prefix.is_empty() { path_and_query.to_owned() } else { format!("{}{path_and_query}", self.prefix) };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .map_err(|e| Error::build(format!("invalid request URI: {e}")))
    }
}

/// Where API calls and token requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API base (`https://api.mypurecloud.com`).
    pub api: Base,
    /// The login base (`https://login.mypurecloud.com`).
    pub login: Base,
}

impl Endpoint {
    /// A custom API base URL; the login base is derived by replacing `api.` with `login.`
    /// in the host (as the official SDKs do), or is the same base when there is no `api.`.
    pub fn custom(api_base: &str) -> Result<Self, Error> {
        let api = Base::parse(api_base)?;
        let login = match api_base.find("//api.") {
            Some(i) => Base::parse(&format!("{}//login.{}", &api_base[..i], &api_base[i + "//api.".len()..]))?,
            None => api.clone(),
        };
        Ok(Self { api, login })
    }

    /// A gateway (the official SDKs' `[gateway]`): one host, protocol and port for both,
    /// with path prefixes for login and for the API.
    pub fn gateway(
        protocol: &str,
        host: &str,
        port: Option<u16>,
        login_prefix: &str,
        api_prefix: &str,
    ) -> Result<Self, Error> {
        let authority = match port {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let join = |prefix: &str| {
            let p = prefix.trim_matches('/');
            if p.is_empty() {
                format!("{protocol}://{authority}")
            } else {
                format!("{protocol}://{authority}/{p}")
            }
        };
        Ok(Self { api: Base::parse(&join(api_prefix))?, login: Base::parse(&join(login_prefix))? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_regions_with_login_hosts() {
        assert_eq!(Region::ALL.len(), 18);
        assert_eq!(Region::default().api_host(), "api.mypurecloud.com");
        assert_eq!(Region::EuscDeEast1.login_host(), "login.edee1.eusc-pure.cloud");
        assert_eq!("eu-west-1".parse::<Region>().unwrap(), Region::EuWest1);
        assert_eq!("api.usw2.pure.cloud".parse::<Region>().unwrap(), Region::UsWest2);
        assert!("mars_1".parse::<Region>().is_err());
    }

    #[test]
    fn custom_bases_and_gateways() {
        let e = Endpoint::custom("https://api.example.test:8443/").unwrap();
        assert_eq!(e.api.join("/api/v2/users/me?x=1").unwrap(), "https://api.example.test:8443/api/v2/users/me?x=1");
        assert_eq!(e.login.join("/oauth/token").unwrap(), "https://login.example.test:8443/oauth/token");
        assert_eq!(e.api.host(), "api.example.test");
        let g = Endpoint::gateway("https", "gw.corp", Some(9443), "/login", "api/").unwrap();
        assert_eq!(g.api.join("/api/v2/x").unwrap(), "https://gw.corp:9443/api/api/v2/x");
        assert_eq!(g.login.join("/oauth/token").unwrap(), "https://gw.corp:9443/login/oauth/token");
        let origin: Uri = "/api/v2/users?pageSize=5".parse().unwrap();
        assert_eq!(e.api.join_uri(&origin).unwrap(), "https://api.example.test:8443/api/v2/users?pageSize=5");
        assert_eq!(g.api.join_uri(&origin).unwrap(), "https://gw.corp:9443/api/api/v2/users?pageSize=5");
        let local = Endpoint::custom("http://127.0.0.1:3000").unwrap();
        assert_eq!(local.login, local.api);
        assert!(Endpoint::custom("ftp://x").is_err());
    }
}
