//! `GET /events/{slug}.ics`: an event as an RFC 5545 iCalendar file a calendar app can import.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use entity::event;

use super::AppState;
use super::errors::{HttpError, Refusal};
use crate::domain::events;

/// `TEXT` escaping of RFC 5545 §3.3.11.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            other => escaped.push(other),
        }
    }
    escaped
}

/// A content line folded at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for character in content.chars() {
        let size = character.len_utf8();
        if width + size > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(character);
        width += size;
    }
    out.push_str("\r\n");
}

fn stamp(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The iCalendar text of one event.
pub fn ics(event: &event::Model, host: &str) -> String {
    let mut out = String::new();
    for fixed in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//fandb//fandb//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
    ] {
        line(&mut out, fixed);
    }
    line(&mut out, &format!("UID:event-{}@{}", event.id, escape(host)));
    line(&mut out, &format!("DTSTAMP:{}", stamp(event.updated_at)));
    line(&mut out, &format!("DTSTART:{}", stamp(event.starts_at)));
    line(&mut out, &format!("DTEND:{}", stamp(events::ends_at(event))));
    line(&mut out, &format!("SUMMARY:{}", escape(&event.title)));
    if let Some(description) = &event.description {
        line(&mut out, &format!("DESCRIPTION:{}", escape(description)));
    }
    let location: Vec<&str> =
        [event.venue.as_deref(), event.city.as_deref(), event.country.as_deref()].into_iter().flatten().collect();
    if !location.is_empty() {
        line(&mut out, &format!("LOCATION:{}", escape(&location.join(", "))));
    } else if let Some(url) = &event.online_url {
        line(&mut out, &format!("LOCATION:{}", escape(url)));
    }
    if let Some(url) = &event.online_url {
        line(&mut out, &format!("URL:{url}"));
    }
    if let Some(hashtag) = &event.hashtag {
        line(&mut out, &format!("CATEGORIES:{}", escape(hashtag)));
    }
    line(&mut out, "END:VEVENT");
    line(&mut out, "END:VCALENDAR");
    out
}

/// `GET /events/{slug}.ics`.
pub async fn event(
    state: web::Data<AppState>,
    path: web::Path<String>,
    request: actix_web::HttpRequest,
) -> Result<HttpResponse, HttpError> {
    // Only a well-formed slug can name an event; anything else (a NUL byte, which PostgreSQL text
    // cannot hold, or bytes that are not UTF-8) is simply not found.
    let slug = crate::domain::validate::slug("slug", &path.into_inner()).map_err(|_| Refusal::NotFound("event"))?;
    let event = events::by_slug(&state.db, &slug).await.map_err(Refusal::from)?.ok_or(Refusal::NotFound("event"))?;
    let host = request.connection_info().host().split(':').next().unwrap_or("fandb").to_owned();
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.ics\"", event.slug)))
        .body(ics(&event, &host)))
}
