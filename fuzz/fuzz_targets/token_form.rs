//! The token endpoint's form (RFC 6749 §4.1.3, §6, §4.3.2, §4.4.2): strict parameter
//! parsing, then the per-grant request. Never a panic; a repeated name never parses.
#![no_main]

use latchkey_provider::params::{Params, ParamsError};
use latchkey_provider::token_request::TokenRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Params::parse(data) {
        Ok(params) => {
            let _ = TokenRequest::parse(&params);
            // Parsed: no decoded name occurs twice.
            let mut names: Vec<String> = form_names(data);
            let before = names.len();
            names.sort();
            names.dedup();
            assert_eq!(before, names.len(), "a repeated parameter was accepted");
        }
        Err(
            ParamsError::Duplicate(_)
            | ParamsError::TooLong(_)
            | ParamsError::TooMany
            | ParamsError::Nul(_),
        ) => {}
    }
});

fn form_names(data: &[u8]) -> Vec<String> {
    url::form_urlencoded::parse(data)
        .map(|(k, _)| k.into_owned())
        .collect()
}
