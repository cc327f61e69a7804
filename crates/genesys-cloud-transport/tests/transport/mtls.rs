//! TLS on loopback: a server that demands a client certificate from a private CA.

use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Method, Request, Response};
use genesys_cloud_core::{execute, ErrorKind, OperationMeta, RequestParts};
use genesys_cloud_transport::{Endpoint, Retry, TlsConfig, Transport};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server =
        CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&server_key, &ca, &ca_key).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client =
        CertificateParams::new(vec!["sdk-client".to_owned()]).unwrap().signed_by(&client_key, &ca, &ca_key).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// An HTTPS server that requires a client certificate signed by the CA.
async fn server(p: &Pki) -> u16 {
    // The test server pins ring (deprecated for lacking post-quantum key exchange since 0.23.48).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(p.ca_pem.as_bytes()).unwrap()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(p.server_cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(p.server_key.as_bytes()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(br#"{"mtls":"ok"}"#))))
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), svc).await;
            });
        }
    });
    port
}

async fn get(tls: TlsConfig, port: u16) -> Result<Bytes, genesys_cloud_core::Error> {
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&format!("https://localhost:{port}")).unwrap())
        .retry(Retry::disabled())
        .tls(tls)
        .build()?;
    let parts = RequestParts::new(OperationMeta::raw(&Method::GET).unwrap(), "/api/v2/ping".into());
    Ok(execute(&t, parts).await?.into_body())
}

#[tokio::test]
async fn a_client_certificate_opens_the_door() {
    let p = pki();
    let port = server(&p).await;
    let tls = TlsConfig::default()
        .add_ca_pem(p.ca_pem.as_bytes())
        .unwrap()
        .client_identity_pem(p.client_cert.as_bytes(), p.client_key.as_bytes())
        .unwrap();
    assert!(!format!("{tls:?}").contains("PRIVATE KEY"));
    assert_eq!(get(tls, port).await.unwrap().as_ref(), br#"{"mtls":"ok"}"#);
}

#[tokio::test]
async fn without_a_client_certificate_the_server_refuses() {
    let p = pki();
    let port = server(&p).await;
    let e = get(TlsConfig::default().add_ca_pem(p.ca_pem.as_bytes()).unwrap(), port).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Connect | ErrorKind::Transport), "{e:?}");
}

#[tokio::test]
async fn an_untrusted_server_certificate_is_refused() {
    let p = pki();
    let port = server(&p).await;
    // The client certificate is fine, but nothing vouches for the server's CA.
    let tls = TlsConfig::default()
        .only_added_roots()
        .client_identity_pem(p.client_cert.as_bytes(), p.client_key.as_bytes())
        .unwrap();
    let e = get(tls, port).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e:?}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}

#[test]
fn bad_pem_is_a_build_error() {
    assert_eq!(TlsConfig::default().add_ca_pem(b"not a pem").unwrap_err().kind(), ErrorKind::Build);
    let e = TlsConfig::default()
        .client_identity_pem(
            pki().client_cert.as_bytes(),
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Build);
}
