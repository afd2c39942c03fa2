//! Decrypted bytes that are erased, in bulk, when dropped.
//!
//! `Zeroizing<Vec<u8>>` erases a vector through `Vec`'s element-wise
//! `Zeroize`: one volatile store per byte, about as long as opening the
//! bytes with AWS-LC took in the first place. [`SecretBytes`] erases its
//! allocation as two slices (the bytes and the spare capacity) through
//! `zeroize`'s bulk fill: a `memset` the compiler must keep.

use std::ops::{Deref, DerefMut};
use std::{fmt, io};

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes (a decrypted record, a message being sealed, a request
/// read off the wire), erased when dropped. Derefs to a slice, and grows
/// only through [`SecretBytes::extend_from_slice`], which erases the
/// allocation it leaves: nothing leaves a copy uncleared. `Debug` shows
/// the length only.
#[derive(Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// A copy of `bytes`.
    pub fn copy(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    /// Appends `bytes`. Past the capacity, the bytes move to a larger
    /// allocation and the old one is erased (a `Vec` would free it
    /// uncleared).
    #[inline]
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        if self.0.capacity() - self.0.len() < bytes.len() {
            self.grow(bytes.len());
        }
        self.0.extend_from_slice(bytes);
    }

    /// Appends one byte, growing as [`SecretBytes::extend_from_slice`]
    /// does.
    #[inline]
    pub fn push(&mut self, byte: u8) {
        if self.0.capacity() == self.0.len() {
            self.grow(1);
        }
        self.0.push(byte);
    }

    /// Moves the bytes to an allocation with room for `more` (at least
    /// twice the old one) and erases the old one. Out of line, so the
    /// appends stay small enough to inline.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, more: usize) {
        let needed = self.0.len().saturating_add(more);
        let mut grown = Vec::with_capacity(needed.max(self.0.capacity().saturating_mul(2)));
        grown.extend_from_slice(&self.0);
        drop(std::mem::replace(self, Self(grown)));
    }

    /// Keeps the first `len` bytes (all, if there are fewer); the rest
    /// stay in the allocation, erased with it.
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The vector itself, no longer erased on drop: the caller takes over
    /// erasing it (to move the bytes into another erasing type without a
    /// copy).
    pub fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// Writing appends, as to a `Vec<u8>`, growing as
/// [`SecretBytes::extend_from_slice`] does (for serialisers that write to
/// an `io::Write`).
impl io::Write for SecretBytes {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl From<Vec<u8>> for SecretBytes {
    /// Takes over `bytes` and its allocation (spare capacity included).
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl Clone for SecretBytes {
    fn clone(&self) -> Self {
        Self::copy(&self.0)
    }
}

impl Deref for SecretBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for SecretBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.0.len())
    }
}

impl Zeroize for SecretBytes {
    /// Erases the whole allocation and empties the vector (keeping the
    /// allocation, now zeros).
    fn zeroize(&mut self) {
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
        self.0.clear();
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroize_empties_and_keeps_the_allocation() {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&[0xa5; 40]);
        let mut secret = SecretBytes::from(bytes);
        assert_eq!(secret.as_slice(), &[0xa5; 40]);
        secret.zeroize();
        assert!(secret.is_empty());
        // Erased in place, not freed uncleared and replaced.
        assert!(secret.0.capacity() >= 64);
    }

    #[test]
    fn growing_moves_to_a_larger_allocation() {
        let mut secret = SecretBytes::with_capacity(4);
        secret.extend_from_slice(b"abc");
        secret.extend_from_slice(b"defgh");
        secret.extend_from_slice(b"");
        assert_eq!(secret.as_slice(), b"abcdefgh");
        assert!(secret.0.capacity() >= 8);
    }

    #[test]
    fn pushes_and_writes_append() {
        use std::io::Write;
        let mut secret = SecretBytes::with_capacity(2);
        secret.push(b'{');
        write!(secret, "\"n\":{}", 42).expect("writing to memory");
        secret.push(b'}');
        assert_eq!(secret.as_slice(), b"{\"n\":42}");
    }

    #[test]
    fn a_truncated_tail_stays_in_the_allocation_erased_on_drop() {
        let mut secret = SecretBytes::from(vec![0xa5; 16]);
        secret.truncate(4);
        secret.truncate(8);
        assert_eq!(secret.as_slice(), &[0xa5; 4]);
        // Not freed apart: the tail is spare capacity, which `zeroize`
        // erases.
        assert_eq!(secret.0.capacity(), 16);
    }

    #[test]
    fn debug_shows_the_length_only() {
        let secret = SecretBytes::copy(b"hunter2");
        assert_eq!(format!("{secret:?}"), "SecretBytes(7 bytes)");
        assert_eq!(secret.clone().into_vec(), b"hunter2");
    }
}
