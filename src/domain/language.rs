//! The languages patients read the clinic in: English and Spanish. A booking keeps the one it was
//! made in (the booking page's switch, a request's `language`, or its `Accept-Language`), and
//! every mail and text about it is written in that language.

/// A language the clinic writes to patients in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Language {
    #[default]
    En,
    Es,
}

impl Language {
    pub const ALL: [Self; 2] = [Self::En, Self::Es];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    /// `en` or `es`, any case, with or without a region (`es-MX`).
    pub fn parse(value: &str) -> Option<Self> {
        let primary = value.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.as_str() == primary)
    }

    /// A stored code, exactly (`en`, `es`): anything else is a row this version does not know.
    pub fn parse_stored(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == value)
    }

    /// The language an `Accept-Language` header prefers among ours (the highest `q`, the first
    /// of equal ones); none when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(language) = parts.next().and_then(Self::parse) else {
                continue;
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, language));
            }
        }
        best.map(|(_, language)| language)
    }

    /// The locale dates are written in (weekday and month names).
    pub fn locale(self) -> chrono::Locale {
        match self {
            Self::En => chrono::Locale::en_US,
            Self::Es => chrono::Locale::es_US,
        }
    }

    /// How a visit's date is written: "Tuesday, December 22, 2026" / "martes, 22 de diciembre
    /// de 2026".
    pub fn date_format(self) -> &'static str {
        match self {
            Self::En => "%A, %B %-d, %Y",
            Self::Es => "%A, %-d de %B de %Y",
        }
    }

    /// How a visit's time is written: "9:00 AM" / "9:00 a. m.".
    pub fn time_format(self) -> &'static str {
        "%-I:%M %p"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_read_from_a_code_or_a_header() {
        assert_eq!(Language::parse("ES-mx"), Some(Language::Es));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(
            Language::from_accept_language("es-MX,es;q=0.9,en-US;q=0.8"),
            Some(Language::Es)
        );
        assert_eq!(
            Language::from_accept_language("fr-FR, en;q=0.5, es;q=0.7"),
            Some(Language::Es)
        );
        assert_eq!(Language::from_accept_language("fr, de"), None);
        assert_eq!(
            Language::from_accept_language("es;q=0, en"),
            Some(Language::En)
        );
    }

    #[test]
    fn dates_are_written_in_the_language() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 22)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc();
        let es = Language::Es;
        assert_eq!(
            at.format_localized(es.date_format(), es.locale())
                .to_string(),
            "martes, 22 de diciembre de 2026"
        );
        let en = Language::En;
        assert_eq!(
            at.format_localized(en.date_format(), en.locale())
                .to_string(),
            "Tuesday, December 22, 2026"
        );
    }
}
