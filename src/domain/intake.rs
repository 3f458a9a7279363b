//! The short intake of the "Schedule an appointment" form, taken from the clinic's article on
//! stress and back pain: where it hurts, how it began, and red flags (numbness, tingling,
//! weakness, severe pain) that point beyond stress and send the booking to front-desk review.

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PainArea {
    LowerBack,
    UpperBack,
    Neck,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Onset {
    Gradual,
    Sudden,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RedFlag {
    Numbness,
    Tingling,
    Weakness,
    SeverePain,
}

impl PainArea {
    const ALL: [Self; 4] = [Self::LowerBack, Self::UpperBack, Self::Neck, Self::Other];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LowerBack => "lower_back",
            Self::UpperBack => "upper_back",
            Self::Neck => "neck",
            Self::Other => "other",
        }
    }
}

impl Onset {
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Gradual, Self::Sudden]
            .into_iter()
            .find(|o| o.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gradual => "gradual",
            Self::Sudden => "sudden",
        }
    }
}

impl RedFlag {
    pub(crate) const ALL: [Self; 4] = [
        Self::Numbness,
        Self::Tingling,
        Self::Weakness,
        Self::SeverePain,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Numbness => "numbness",
            Self::Tingling => "tingling",
            Self::Weakness => "weakness",
            Self::SeverePain => "severe_pain",
        }
    }
}

/// What the patient told the intake. Every part is optional; red flags are kept sorted and
/// without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Concern {
    pub area: Option<PainArea>,
    pub onset: Option<Onset>,
    /// At most four, one of each; a repeat counts once.
    #[serde(default, deserialize_with = "at_most_one_of_each")]
    #[schema(max_items = 4)]
    pub red_flags: Vec<RedFlag>,
}

/// A form has one box for each red flag, so a longer list can only repeat them: it is refused,
/// which bounds what a request may send (the document's `maxItems`). Repeats within the bound are
/// folded by `Concern::normalized`, as before.
fn at_most_one_of_each<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<RedFlag>, D::Error> {
    let flags = Vec::<RedFlag>::deserialize(deserializer)?;
    if flags.len() > RedFlag::ALL.len() {
        return Err(serde::de::Error::invalid_length(
            flags.len(),
            &"at most 4 red flags, one of each",
        ));
    }
    Ok(flags)
}

impl Concern {
    /// The intake read back from its stored columns; `None` when the booking had none.
    pub(crate) fn from_stored(
        area: Option<&str>,
        onset: Option<&str>,
        red_flags: Option<&str>,
    ) -> Option<Self> {
        if area.is_none() && onset.is_none() && red_flags.is_none() {
            return None;
        }
        Some(Self {
            area: area.and_then(PainArea::parse),
            onset: onset.and_then(Onset::parse),
            red_flags: red_flags
                .unwrap_or_default()
                .split(',')
                .filter_map(RedFlag::parse)
                .collect(),
        })
    }

    pub(crate) fn normalized(mut self) -> Self {
        self.red_flags.sort();
        self.red_flags.dedup();
        self
    }

    /// A red flag means the front desk looks at the booking before the visit.
    pub fn needs_review(&self) -> bool {
        !self.red_flags.is_empty()
    }

    /// Red flags as stored: comma-separated, `None` when there are none.
    pub(crate) fn red_flags_text(&self) -> Option<String> {
        (!self.red_flags.is_empty()).then(|| {
            self.red_flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_flags_mark_for_review_and_are_stored_once_each() {
        let concern: Concern = serde_json::from_str(
            r#"{"area":"lower_back","onset":"gradual","red_flags":["tingling","numbness","tingling"]}"#,
        )
        .unwrap();
        let concern = concern.normalized();
        assert!(concern.needs_review());
        assert_eq!(
            concern.red_flags_text().as_deref(),
            Some("numbness,tingling")
        );
        let calm: Concern = serde_json::from_str(r#"{"area":"upper_back"}"#).unwrap();
        assert!(!calm.needs_review());
        assert_eq!(calm.red_flags_text(), None);
        assert!(serde_json::from_str::<Concern>(r#"{"area":"knee"}"#).is_err());
        let stored = Concern::from_stored(
            Some("lower_back"),
            Some("gradual"),
            concern.red_flags_text().as_deref(),
        );
        assert_eq!(stored, Some(concern));
        assert_eq!(Concern::from_stored(None, None, None), None);
        assert!(serde_json::from_str::<Concern>(r#"{"mood":"ok"}"#).is_err());
    }

    #[test]
    fn at_most_four_red_flags_are_taken() {
        let every: Vec<&str> = RedFlag::ALL.iter().map(|f| f.as_str()).collect();
        let four = serde_json::json!({ "red_flags": every });
        assert!(serde_json::from_value::<Concern>(four).is_ok());
        let repeated = ["numbness"; 5];
        let five = serde_json::json!({ "red_flags": repeated });
        assert!(serde_json::from_value::<Concern>(five).is_err());
    }
}
