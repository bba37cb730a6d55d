//! CORS preflights that ask for a header the API does not allow: actix-cors refuses them with 400,
//! but the Fetch standard expects an answer that simply leaves the header out of
//! `Access-Control-Allow-Headers` (the browser then declines to send it). This wrapper trims the
//! preflight's `Access-Control-Request-Headers` to the allowed ones before actix-cors reads it; it
//! changes nothing else, and never allows a header actix-cors would not.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::{Service, ServiceRequest, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};

/// actix-cors with lenient preflights (see the module comment).
pub(crate) struct Cors {
    inner: actix_cors::Cors,
    allowed: Rc<[HeaderName]>,
}

impl Cors {
    /// Wraps `inner`, whose allowed request headers are `allowed`.
    pub(crate) fn new(inner: actix_cors::Cors, allowed: &[HeaderName]) -> Self {
        Self { inner, allowed: allowed.into() }
    }
}

impl<S> Transform<S, ServiceRequest> for Cors
where
    actix_cors::Cors: Transform<S, ServiceRequest>,
    <actix_cors::Cors as Transform<S, ServiceRequest>>::Future: 'static,
{
    type Response = <actix_cors::Cors as Transform<S, ServiceRequest>>::Response;
    type Error = <actix_cors::Cors as Transform<S, ServiceRequest>>::Error;
    type Transform = Trimmed<<actix_cors::Cors as Transform<S, ServiceRequest>>::Transform>;
    type InitError = <actix_cors::Cors as Transform<S, ServiceRequest>>::InitError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Transform, Self::InitError>>>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let inner = self.inner.new_transform(service);
        let allowed = self.allowed.clone();
        Box::pin(async move { Ok(Trimmed { service: inner.await?, allowed }) })
    }
}

/// The CORS service, behind the trimming of preflight request headers.
pub(crate) struct Trimmed<S> {
    service: S,
    allowed: Rc<[HeaderName]>,
}

impl<S: Service<ServiceRequest>> Service<ServiceRequest> for Trimmed<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        if request.method() == Method::OPTIONS {
            trim(request.headers_mut(), &self.allowed);
        }
        self.service.call(request)
    }
}

/// Keeps only the allowed names in `Access-Control-Request-Headers` (dropping the header when none
/// is left).
fn trim(headers: &mut actix_web::http::header::HeaderMap, allowed: &[HeaderName]) {
    let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) else { return };
    let Ok(requested) = requested.to_str() else {
        headers.remove(header::ACCESS_CONTROL_REQUEST_HEADERS);
        return;
    };
    let kept: Vec<&str> = requested
        .split(',')
        .map(str::trim)
        .filter(|name| allowed.iter().any(|allowed| allowed.as_str().eq_ignore_ascii_case(name)))
        .collect();
    match HeaderValue::from_str(&kept.join(", ")) {
        Ok(value) if !kept.is_empty() => {
            headers.insert(header::ACCESS_CONTROL_REQUEST_HEADERS, value);
        }
        _ => {
            headers.remove(header::ACCESS_CONTROL_REQUEST_HEADERS);
        }
    }
}
