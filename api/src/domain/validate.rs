//! Field rules shared by every create and update: lengths, slugs, URLs (and https image URLs),
//! time zones, country codes, money. Each check names the input field at fault.

use super::{DomainError, DomainResult};

/// Trims `value` and checks it holds 1 to `max` characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> DomainResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(trimmed.to_owned())
}

/// Like `text`, for optional values: blank becomes `None`.
pub(crate) fn optional_text(field: &str, value: Option<&str>, max: usize) -> DomainResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, max).map(Some),
    }
}

/// Checks the text of a substring filter: at most `max` characters (the longest value the column
/// holds, since a longer needle cannot match); SQLite refuses LIKE patterns beyond 50,000 bytes.
pub(crate) fn filter_text(field: &str, value: Option<String>, max: usize) -> DomainResult<Option<String>> {
    if let Some(text) = &value
        && text.chars().count() > max
    {
        return Err(DomainError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(value)
}

/// The longest slug.
pub(crate) const SLUG_MAX: usize = 100;

/// Checks a slug: lower-case letters, digits and single hyphens, 1 to 100 characters.
pub(crate) fn slug(field: &str, value: &str) -> DomainResult<String> {
    let value = value.trim();
    let well_formed = !value.is_empty()
        && value.len() <= SLUG_MAX
        && value.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--");
    if !well_formed {
        return Err(DomainError::invalid(
            field,
            "must be 1 to 100 lower-case letters, digits and single hyphens, like `alita-battle-angel`",
        ));
    }
    Ok(value.to_owned())
}

/// A slug made from a title: accents folded, everything else but letters and digits a hyphen.
pub(crate) fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for character in title.chars().flat_map(char::to_lowercase) {
        let folded = match character {
            'a'..='z' | '0'..='9' => Some(character.to_string()),
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => Some("a".into()),
            'ç' | 'ć' | 'č' => Some("c".into()),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => Some("e".into()),
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => Some("i".into()),
            'ñ' | 'ń' | 'ň' => Some("n".into()),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => Some("o".into()),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => Some("u".into()),
            'ý' | 'ÿ' => Some("y".into()),
            'ß' => Some("ss".into()),
            'š' | 'ś' => Some("s".into()),
            'ž' | 'ź' | 'ż' => Some("z".into()),
            'ł' => Some("l".into()),
            _ => None,
        };
        match folded {
            Some(text) => slug.push_str(&text),
            None if !slug.ends_with('-') && !slug.is_empty() => slug.push('-'),
            None => {}
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(SLUG_MAX).collect();
    slug.trim_end_matches('-').to_owned()
}

/// The slug given, or one made from `title` (refused if the title yields none).
pub(crate) fn slug_or_from(field: &str, given: Option<&str>, title: &str) -> DomainResult<String> {
    match given {
        Some(given) => slug(field, given),
        None => {
            let made = slugify(title);
            if made.is_empty() {
                return Err(DomainError::invalid(field, "cannot be made from the title; give one"));
            }
            Ok(made)
        }
    }
}

/// Checks a link (an event's online address, a quote's source): an absolute http or https URL
/// with a host, at most 2,048 characters, stored in the URL standard's normal form.
pub(crate) fn url(field: &str, value: &str) -> DomainResult<String> {
    link(field, value, &["http", "https"], "must be an http or https URL")
}

/// The longest URL, link or image.
pub(crate) const IMAGE_URL_MAX: usize = 2048;

/// Checks an image URL (a film's poster, a person's photo…): an absolute `https` URL with a host,
/// at most 2,048 characters. Plain http is refused: the pages that show the image are served over
/// https, where an http image is mixed content.
pub(crate) fn image_url(field: &str, value: &str) -> DomainResult<String> {
    link(field, value, &["https"], "must be an https URL")
}

/// A URL of one of `schemes`, as stored: no whitespace, control characters, backslashes or
/// credentials, in the parser's normal form (host lower-cased, characters percent-encoded), which
/// is what a browser requests and what every page, feed and calendar file may print as it is.
fn link(field: &str, value: &str, schemes: &[&str], wrong_scheme: &str) -> DomainResult<String> {
    let value = value.trim();
    if value.chars().count() > IMAGE_URL_MAX {
        return Err(DomainError::invalid(field, format!("must be at most {IMAGE_URL_MAX} characters")));
    }
    // The URL parser quietly drops tabs and newlines and reads `\\` as `/`; a URL that needs such
    // mending is refused rather than stored in a form a browser may read differently.
    if value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return Err(DomainError::invalid(field, "must not contain spaces, control characters or backslashes"));
    }
    let parsed = url::Url::parse(value).map_err(|_| DomainError::invalid(field, "must be an absolute URL"))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(DomainError::invalid(field, wrong_scheme));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(DomainError::invalid(field, "must name a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(DomainError::invalid(field, "must not carry a user name or password"));
    }
    let normalized = parsed.as_str();
    if normalized.chars().count() > IMAGE_URL_MAX {
        return Err(DomainError::invalid(field, format!("must be at most {IMAGE_URL_MAX} characters")));
    }
    Ok(normalized.to_owned())
}

/// Checks an image URL through a patch (null or blank clears it).
pub(crate) fn patch_image_url(field: &str, change: Patch<String>) -> DomainResult<Patch<String>> {
    Ok(match change {
        Patch::Set(value) if value.trim().is_empty() => Patch::Clear,
        other => other.try_map(|value| image_url(field, &value))?,
    })
}

/// Checks an IANA time zone name such as `America/Los_Angeles`.
pub(crate) fn time_zone(field: &str, value: &str) -> DomainResult<chrono_tz::Tz> {
    value
        .trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| DomainError::invalid(field, "must be an IANA time zone such as Europe/London"))
}

/// Checks an ISO 3166-1 alpha-2 country code (any case) and returns it upper-case.
pub(crate) fn country(field: &str, value: &str) -> DomainResult<String> {
    let code = value.trim().to_ascii_uppercase();
    if code.len() == 2 && COUNTRIES.split(' ').any(|known| known == code) {
        Ok(code)
    } else {
        Err(DomainError::invalid(field, "must be an ISO 3166-1 alpha-2 country code such as US or JP"))
    }
}

/// Checks a non-negative amount of money.
pub(crate) fn money(field: &str, value: i64) -> DomainResult<i64> {
    if value < 0 {
        return Err(DomainError::invalid(field, "must not be negative"));
    }
    Ok(value)
}

/// Checks `min <= value <= max`.
pub(crate) fn range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> DomainResult<T> {
    if value < min || value > max {
        return Err(DomainError::invalid(field, format!("must be between {min} and {max}")));
    }
    Ok(value)
}

/// Checks a hashtag (letters, digits, underscores) and returns it with its `#`.
pub(crate) fn hashtag(field: &str, value: &str) -> DomainResult<String> {
    let bare = value.trim().trim_start_matches('#');
    if bare.is_empty() || bare.len() > 99 || !bare.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(DomainError::invalid(field, "must be a hashtag such as #AlitaArmy"));
    }
    Ok(format!("#{bare}"))
}

/// The officially assigned ISO 3166-1 alpha-2 codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI \
GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA \
PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH \
TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A change to an optional field: absent (keep), null (clear) or a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// Applies a check to a set value.
    pub(crate) fn try_map<U>(self, check: impl FnOnce(T) -> DomainResult<U>) -> DomainResult<Patch<U>> {
        Ok(match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(value) => Patch::Set(check(value)?),
        })
    }
}

/// A value that a create must have; `field` names it when missing.
pub(crate) fn required<T>(field: &str, value: Option<T>) -> DomainResult<T> {
    value.ok_or_else(|| DomainError::invalid(field, "is required"))
}

/// Checks optional text through a patch.
pub(crate) fn patch_text(field: &str, change: Patch<String>, max: usize) -> DomainResult<Patch<String>> {
    Ok(match change.try_map(|value| optional_text(field, Some(&value), max))? {
        Patch::Set(None) => Patch::Clear,
        Patch::Set(Some(value)) => Patch::Set(value),
        Patch::Keep => Patch::Keep,
        Patch::Clear => Patch::Clear,
    })
}

// The longest values each record accepts, in one place so that the shared write skeleton
// (`write`) and the filters need no record module to know them.

/// The longest film title.
pub(crate) const FILM_TITLE_MAX: usize = 200;

/// The most credits one mutation may give: each costs a few statements inside one write
/// transaction, which on SQLite holds the whole database.
pub(crate) const CREDITS_MAX: usize = 200;

/// The longest character name of a credit.
pub(crate) const CHARACTER_MAX: usize = 200;

/// The longest name of a person.
pub(crate) const PERSON_NAME_MAX: usize = 200;

/// The longest event title.
pub(crate) const EVENT_TITLE_MAX: usize = 200;

/// The largest goal: the API's `goal` is a GraphQL `Int`, 32 bits, so a petition never holds a goal
/// it could not report.
pub(crate) const PETITION_GOAL_MAX: i64 = i32::MAX as i64;

/// The longest petition title.
pub(crate) const PETITION_TITLE_MAX: usize = 200;

/// The longest title of a petition update.
pub(crate) const UPDATE_TITLE_MAX: usize = 200;

/// The longest body of a petition update, in characters of Markdown.
pub(crate) const UPDATE_BODY_MAX: usize = 20_000;

/// The longest quote.
pub(crate) const QUOTE_TEXT_MAX: usize = 2_000;

/// The longest display name (as `register` allows).
pub(crate) const DISPLAY_NAME_MAX: usize = 100;

/// The longest email address, and so the longest `emailContains` filter.
pub(crate) const EMAIL_MAX: usize = 254;
