//! How typed keys and rows become bytes. Keys encode so that byte order is
//! key order (fixed-width big-endian integers, the variable-width part
//! last), which is what lets a backend keep tables sorted without knowing
//! their types. Rows are fields in a fixed order, strings and byte strings
//! length-prefixed; a row that does not decode is reported as corrupt.

use crate::clock::Timestamp;
use crate::ids::{FileId, KeyScope, PasskeyId, RecordKey, SessionId, ShareId, UserId};

/// A table key.
pub(crate) trait Key: Sized {
    /// Appends the order-preserving encoding.
    fn encode(&self, out: &mut Vec<u8>);
    /// The key back from its encoding; `None` if it is not one.
    fn decode(bytes: &[u8]) -> Option<Self>;

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode(&mut out);
        out
    }
}

/// A key of fixed width, which can stand before another in a tuple.
pub(crate) trait FixedKey: Key {
    const WIDTH: usize;
}

/// A table value.
pub(crate) trait Row: Sized {
    /// Appends the encoding.
    fn encode(&self, out: &mut Vec<u8>);
    /// The row back from its encoding; `None` if it is not one.
    fn decode(bytes: &[u8]) -> Option<Self>;

    /// Room for a small row; a row with a large field reserves the rest
    /// in `encode`, so that a row is written into one allocation.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode(&mut out);
        out
    }
}

macro_rules! int_key {
    ($($ty:ty),*) => {$(
        impl Key for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn decode(bytes: &[u8]) -> Option<Self> {
                Some(<$ty>::from_be_bytes(bytes.try_into().ok()?))
            }
        }
        impl FixedKey for $ty {
            const WIDTH: usize = std::mem::size_of::<$ty>();
        }
    )*};
}
int_key!(u32, u64, u128);

macro_rules! newtype_key {
    ($ty:ty, $inner:ty, $to:expr, $from:expr) => {
        impl Key for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                let inner: $inner = $to(*self);
                inner.encode(out);
            }
            fn decode(bytes: &[u8]) -> Option<Self> {
                <$inner>::decode(bytes).map($from)
            }
        }
        impl FixedKey for $ty {
            const WIDTH: usize = <$inner as FixedKey>::WIDTH;
        }
    };
}
newtype_key!(UserId, u128, UserId::as_u128, UserId::from_u128);
newtype_key!(SessionId, u128, SessionId::as_u128, SessionId::from_u128);
newtype_key!(ShareId, u128, ShareId::as_u128, ShareId::from_u128);
newtype_key!(FileId, u128, FileId::as_u128, FileId::from_u128);
newtype_key!(PasskeyId, u128, PasskeyId::as_u128, PasskeyId::from_u128);
newtype_key!(KeyScope, u128, KeyScope::as_u128, KeyScope::from_u128);
newtype_key!(RecordKey, u128, RecordKey::as_u128, RecordKey::from_u128);
newtype_key!(
    Timestamp,
    u64,
    Timestamp::as_unix_millis,
    Timestamp::from_unix_millis
);

impl Key for [u8; 32] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok()
    }
}

impl FixedKey for [u8; 32] {
    const WIDTH: usize = 32;
}

impl Key for String {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

impl<A: FixedKey, B: Key> Key for (A, B) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (a, b) = bytes.split_at_checked(A::WIDTH)?;
        Some((A::decode(a)?, B::decode(b)?))
    }
}

impl<A: FixedKey, B: FixedKey> FixedKey for (A, B) {
    const WIDTH: usize = A::WIDTH + B::WIDTH;
}

impl<A: FixedKey, B: FixedKey, C: Key> Key for (A, B, C) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
        self.2.encode(out);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (a, rest) = bytes.split_at_checked(A::WIDTH)?;
        let (b, c) = rest.split_at_checked(B::WIDTH)?;
        Some((A::decode(a)?, B::decode(b)?, C::decode(c)?))
    }
}

impl Row for () {
    fn encode(&self, _: &mut Vec<u8>) {}
    fn to_bytes(&self) -> Vec<u8> {
        Vec::new()
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        bytes.is_empty().then_some(())
    }
}

/// Opaque bytes (wrapped keys, sealed values).
impl Row for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.clone()
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(bytes.to_vec())
    }
}

impl Row for [u8; 32] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok()
    }
}

impl Row for UserId {
    fn encode(&self, out: &mut Vec<u8>) {
        Key::encode(self, out);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        <Self as Key>::decode(bytes)
    }
}

/// Appends fields of a row.
pub(crate) struct Writer<'a>(pub(crate) &'a mut Vec<u8>);

impl Writer<'_> {
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u128(&mut self, v: u128) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A byte string, length-prefixed (u32).
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.0.extend_from_slice(&v[..len as usize]);
        self
    }
    /// The rest of the row, unprefixed (the last field only).
    pub(crate) fn tail(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

/// Reads fields of a row in order; every read fails on short input.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }
    pub(crate) fn u128(&mut self) -> Option<u128> {
        self.take().map(u128::from_be_bytes)
    }
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        let (head, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(head)
    }
    pub(crate) fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }
    /// A text field, read in place.
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    /// Everything left (the last field).
    pub(crate) fn tail(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
    /// `Some(())` when every byte was read.
    pub(crate) fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn tuple_keys_sort_as_their_bytes(a: (u64, u128, u128), b: (u64, u128, u128)) {
            let (ea, eb) = (a.to_bytes(), b.to_bytes());
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
            prop_assert_eq!(<(u64, u128, u128)>::decode(&ea), Some(a));
        }

        #[test]
        fn string_suffix_keys_sort_as_their_bytes(a: (u32, String), b: (u32, String)) {
            prop_assert_eq!(a.cmp(&b), a.to_bytes().cmp(&b.to_bytes()));
            prop_assert_eq!(<(u32, String)>::decode(&a.to_bytes()), Some(a));
        }

        #[test]
        fn reader_never_panics_on_any_bytes(bytes: Vec<u8>) {
            let mut r = Reader(&bytes);
            let _ = (r.u8(), r.bytes(), r.u64(), r.string(), r.u128());
            let _ = r.tail();
            prop_assert!(r.end().is_some());
        }
    }

    #[test]
    fn short_keys_do_not_decode() {
        assert_eq!(<(u64, u128)>::decode(&[0; 23]), None);
        assert_eq!(<u32>::decode(&[0; 5]), None);
        assert_eq!(<()>::decode(&[1]), None);
    }
}
