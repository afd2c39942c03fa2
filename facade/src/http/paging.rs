//! The `limit` and `cursor` of a listing, read the same way for every
//! list: a page size from 1 to the engine's largest page (default
//! [`crate::DEFAULT_PAGE`]), and a cursor that parses as the
//! listing's id type.

use std::str::FromStr;

use poem::http::StatusCode;

use crate::http::problem::Problem;

/// Page size of a listing whose request names none (or the server's
/// largest page, if that is smaller).
pub const DEFAULT_PAGE: usize = 50;

/// The page size and cursor of a list request; 400 for a limit outside
/// `1..=max` or a cursor that is not an id.
pub(crate) fn page<C: FromStr>(
    limit: Option<u64>,
    cursor: Option<&str>,
    max: usize,
) -> Result<(usize, Option<C>), Problem> {
    let limit = match limit {
        None => DEFAULT_PAGE.min(max),
        Some(n) => match usize::try_from(n) {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("limit must be between 1 and {max}"),
                ));
            }
        },
    };
    let cursor = match cursor.map(str::parse::<C>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "cursor is not a valid next_cursor",
            ));
        }
    };
    Ok((limit, cursor))
}

#[cfg(test)]
mod tests {
    use strongroom_engine::RecordId;

    use super::*;

    #[test]
    fn limits_and_cursors_are_checked_alike() {
        assert_eq!(
            page::<RecordId>(None, None, 100).map(|p| p.0).ok(),
            Some(50)
        );
        assert_eq!(page::<RecordId>(None, None, 20).map(|p| p.0).ok(), Some(20));
        assert_eq!(
            page::<RecordId>(Some(100), None, 100).map(|p| p.0).ok(),
            Some(100)
        );
        for bad in [0, 101, u64::MAX] {
            assert_eq!(
                page::<RecordId>(Some(bad), None, 100)
                    .map(|_| ())
                    .map_err(|p| p.status),
                Err(400)
            );
        }
        assert!(page::<RecordId>(None, Some("nope"), 100).is_err());
        let id = "01234567-89ab-cdef-0123-456789abcdef";
        assert!(matches!(
            page::<RecordId>(None, Some(id), 100),
            Ok((50, Some(_)))
        ));
    }
}
