//! `GET /events/{slug}.ics`: an event as an RFC 5545 iCalendar file a calendar app can import.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use entity::event;

use super::AppState;
use super::errors::{HttpError, Refusal};
use crate::domain::events;

/// The host in every event's `UID` when `FANDB_PUBLIC_URL` is unset: `.invalid` is reserved
/// (RFC 2606), so it names no real site and cannot collide with another calendar's UIDs.
pub(crate) const UNNAMED_HOST: &str = "fandb.invalid";

/// `TEXT` escaping of RFC 5545 §3.3.11: backslash, semicolon and comma escaped, every line break
/// (CRLF, a lone CR or LF) written `\n`, and the other control characters, which `TEXT` does not
/// allow, dropped; so nothing stored can start a property line of its own.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\r' => {
                characters.next_if_eq(&'\n');
                escaped.push_str("\\n");
            }
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push('\t'),
            other if other.is_ascii_control() => {}
            other => escaped.push(other),
        }
    }
    escaped
}

/// A content line folded at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character. Control
/// characters (but the tab) are left out, whatever the value: a CR or LF in a value that is not
/// `TEXT` (a URL) cannot end the line either.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for character in content.chars().filter(|character| *character == '\t' || !character.is_ascii_control()) {
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

/// The iCalendar text of one event; its `UID` is `event-<id>@<host>`, the same whichever name the
/// request came by, so a calendar that imports it twice keeps one event.
pub(crate) fn ics(event: &event::Model, host: &str) -> String {
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

/// `GET /events/{slug}.ics`. The UID's host is `FANDB_PUBLIC_URL`'s (or `UNNAMED_HOST`), never
/// the request's `Host`, which differs between the names a server is reached by.
pub(crate) async fn event(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, HttpError> {
    // Only a well-formed slug can name an event; anything else (a NUL byte, which PostgreSQL text
    // cannot hold, or bytes that are not UTF-8) is simply not found.
    let slug = crate::domain::validate::slug("slug", &path.into_inner()).map_err(|_| Refusal::NotFound("event"))?;
    let event = events::by_slug(&state.db, &slug).await.map_err(Refusal::from)?.ok_or(Refusal::NotFound("event"))?;
    let host = state.public_host.as_deref().unwrap_or(UNNAMED_HOST);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.ics\"", event.slug)))
        .body(ics(&event, host)))
}
