//! Request routing: one module per method family. Routes call the cores
//! and storage, send their success response, and return errors for the
//! connection to answer.

mod get;
pub(crate) mod listing;
pub(crate) use listing::ListedEntry;
mod mkcol_delete;
mod post_multipart;
mod put;

use super::conn::Conn;
use super::error::RequestError;
use super::request::Request;
use crate::http::{Method, StatusCode};

/// The methods served on any path.
const ALLOW_ALL: &str = "GET, HEAD, PUT, POST, MKCOL, DELETE, OPTIONS";

/// Serves `request` on `conn`.
pub async fn route(conn: &mut Conn, request: &Request) -> Result<(), RequestError> {
    let read_only = conn.worker.config.read_only;
    match request.method {
        Method::Get | Method::Head => get::get(conn, request).await,
        Method::Put | Method::Post | Method::Mkcol | Method::Delete if read_only => {
            Err(RequestError::ReadOnly)
        }
        Method::Put => put::put(conn, request).await,
        Method::Post => post_multipart::post(conn, request).await,
        Method::Mkcol => mkcol_delete::mkcol(conn, request).await,
        Method::Delete => mkcol_delete::delete(conn, request).await,
        Method::Options => {
            let allow = if read_only {
                "GET, HEAD, OPTIONS"
            } else {
                ALLOW_ALL
            };
            conn.send_response(StatusCode::NO_CONTENT, &[("Allow", allow)], b"", None)
                .await
                .map_err(RequestError::Io)
        }
        Method::Other => Err(RequestError::NotImplemented),
    }
}
