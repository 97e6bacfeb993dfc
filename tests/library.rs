//! The library API against the fake: threads, the shared cache, requests.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use yciam::{Client, CredentialChoice, Options, Secret};

fn options(w: &World) -> Options {
    Options::default()
        .iam_endpoint(w.fake.https_url())
        .resource_manager_endpoint(w.fake.https_url())
        .ca_file(&w.ca)
        .credential(CredentialChoice::OAuthToken(Secret::new(
            w.fake.oauth_token(),
        )))
}

#[test]
fn sixty_four_threads_one_exchange() {
    let w = World::new();
    let client = Arc::new(Client::new(options(&w)).unwrap());
    let barrier = Arc::new(Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.token().unwrap().expose().to_string()
            })
        })
        .collect();
    let tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(w.fake.count(Route::CreateToken), 1);
}

#[test]
fn two_clients_of_one_credential_share_the_token() {
    let w = World::new();
    let a = Client::new(options(&w)).unwrap();
    let b = Client::new(options(&w)).unwrap();
    assert_eq!(a.token().unwrap(), b.token().unwrap());
    assert_eq!(w.fake.count(Route::CreateToken), 1);
    let c = Client::new(options(&w).no_cache(true)).unwrap();
    c.token().unwrap();
    assert_eq!(
        w.fake.count(Route::CreateToken),
        2,
        "no_cache exchanges anew"
    );
}

#[test]
fn a_token_revoked_elsewhere_is_renewed_on_401() {
    let w = World::new();
    let client = Client::new(options(&w)).unwrap();
    let first = client.token().unwrap();
    // Revoked behind the client's back.
    let other = Client::new(options(&w).no_cache(true)).unwrap();
    other.revoke(first.secret()).unwrap();
    let resp = client
        .request("GET", &w.url("/resource-manager/v1/clouds"), &[], None)
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(w.fake.count(Route::CreateToken), 2);
    assert_ne!(client.token().unwrap(), first);
}

#[test]
fn debug_of_everything_redacts_secrets() {
    let w = World::new();
    let client = Client::new(options(&w)).unwrap();
    let token = client.token().unwrap();
    let oauth = w.fake.oauth_token();
    for text in [
        format!("{client:?}"),
        format!("{token:?}"),
        format!("{:?}", options(&w)),
    ] {
        assert!(
            !text.contains(&oauth) && !text.contains(token.expose()),
            "{text}"
        );
    }
}

#[test]
fn the_env_option_stands_in_for_the_process_environment() {
    // PowerShell 7 on Unix cannot change the environment native code sees; it passes its
    // variables in the options JSON instead.
    let w = World::new();
    let json = serde_json::json!({
        "env": {
            "YC_OAUTH_TOKEN": w.fake.oauth_token(),
            "YC_IAM_ENDPOINT": w.fake.https_url(),
            "YCIAM_CA_FILE": w.ca,
        }
    });
    let client = Client::new(Options::from_json(&json.to_string()).unwrap()).unwrap();
    assert!(client.token().unwrap().expose().starts_with("t1."));
    assert_eq!(client.credential_origin(), "YC_OAUTH_TOKEN");
    assert!(
        !format!("{:?}", Options::from_json(&json.to_string()).unwrap())
            .contains(&w.fake.oauth_token())
    );
    assert!(Options::from_json(r#"{"env":{"YC_OAUTH_TOKEN":5}}"#).is_err());
}
