//! Request routing: one module per method family. Routes look at the
//! [`Request`](crate::server::request::Request), decide, and answer
//! through the [`Exchange`]; they return errors for it to answer.

mod delete;
mod get;
mod mkcol;
mod post;
mod put;
pub(crate) mod resumable;

use super::connection::{Exchange, Router};
use super::error::RequestError;
use crate::auth::{Action, Perms};
use crate::http::{Method, StatusCode};
use crate::resumable::Operation;

/// The methods the server serves, given its flags.
pub(crate) fn allowed_methods(read_only: bool, allow_delete: bool) -> &'static str {
    match (read_only, allow_delete) {
        (true, _) => "GET, HEAD, OPTIONS",
        (false, true) => "GET, HEAD, PUT, POST, MKCOL, DELETE, OPTIONS",
        (false, false) => "GET, HEAD, PUT, POST, MKCOL, OPTIONS",
    }
}

/// The server's routes.
pub(crate) struct Routes;

impl Router for Routes {
    async fn route(&self, exchange: &mut Exchange<'_>) -> Result<(), RequestError> {
        route(exchange).await
    }
}

/// Serves the exchange's request: credentials first, then the method's
/// route (which asks the access policy before it takes anything).
async fn route(ex: &mut Exchange<'_>) -> Result<(), RequestError> {
    ex.authenticate().await?;
    let config = ex.worker().config.clone();
    let allow = allowed_methods(config.read_only, config.allow_delete);
    // Resumable uploads (tus, IETF draft) first: their requests, and every
    // request for the staging area, never reach the routes below.
    match resumable::classify_request(&ex.request(), &config) {
        Ok(Operation::NotResumable) => {}
        Ok(Operation::Options) => return options(ex, allow).await,
        Ok(op) => return resumable::serve(ex, op).await,
        Err(err) => return resumable::refuse(ex, &err).await,
    }
    match ex.request().method {
        Method::Get | Method::Head => get::get(ex, allow).await,
        Method::Put | Method::Post | Method::Mkcol | Method::Delete if config.read_only => {
            Err(RequestError::ReadOnly)
        }
        Method::Put => put::put(ex).await,
        Method::Post => post::post(ex).await,
        Method::Mkcol => mkcol::mkcol(ex).await,
        Method::Delete if !config.allow_delete => Err(RequestError::MethodNotAllowed { allow }),
        Method::Delete => delete::delete(ex).await,
        Method::Options => options(ex, allow).await,
        Method::Other => Err(RequestError::NotImplemented),
    }
}

/// `OPTIONS`: the methods this identity may use here (all the flags allow,
/// without access rules), and the resumable-upload discovery fields (tus
/// `Tus-Version` …, IETF `Accept-Patch`, `Upload-Limit`) unless the server
/// is read-only; refused like a read when it may use none.
async fn options(ex: &mut Exchange<'_>, allow: &'static str) -> Result<(), RequestError> {
    let request = ex.request();
    let path = &request.target.path;
    let allow = if ex.worker().policy.is_open() {
        allow
    } else {
        let caps = ex.capabilities(path);
        if caps.is_empty() {
            return ex.authorize(Action::Read, path, allow);
        }
        allowed_for(caps)
    };
    let discovery = if ex.worker().config.read_only {
        Vec::new()
    } else {
        crate::resumable::options_headers(&ex.worker().config.resumable)
    };
    let mut headers = vec![("Allow", allow)];
    headers.extend(discovery.iter().map(|(n, v)| (*n, v.as_str())));
    ex.respond(StatusCode::NO_CONTENT, &headers, b"").await
}

/// The methods `caps` permit.
fn allowed_for(caps: Perms) -> &'static str {
    let read = caps.contains(Perms::READ);
    let upload = caps.contains(Perms::UPLOAD) || caps.contains(Perms::OVERWRITE);
    let delete = caps.contains(Perms::DELETE);
    match (read, upload, delete) {
        (true, true, true) => "GET, HEAD, PUT, POST, MKCOL, DELETE, OPTIONS",
        (true, true, false) => "GET, HEAD, PUT, POST, MKCOL, OPTIONS",
        (true, false, true) => "GET, HEAD, DELETE, OPTIONS",
        (true, false, false) => "GET, HEAD, OPTIONS",
        (false, true, true) => "GET, HEAD, PUT, POST, MKCOL, DELETE, OPTIONS",
        (false, true, false) => "GET, HEAD, PUT, POST, MKCOL, OPTIONS",
        (false, false, true) => "DELETE, OPTIONS",
        (false, false, false) => "OPTIONS",
    }
}
