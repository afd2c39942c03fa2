//! Bytes that are zeroized when their last reference drops: request
//! bodies as the body limit holds them (passwords, message text) and the
//! response bodies the API builds around plaintext. What the HTTP stack
//! itself holds is not ours to clear: hyper's read buffer keeps the bytes
//! of a request until later reads overwrite them, and the kernel's socket
//! buffers do the same (see docs/security.md).

use bytes::Bytes;
use strongroom_engine::SecretBytes;
use zeroize::Zeroize;

/// Takes `data` into bytes that are zeroized when dropped (in bulk, with
/// its spare capacity: `Vec<u8>`'s own `zeroize` writes byte by byte,
/// which was a tenth of a page's time at 20 KiB).
pub(crate) fn bytes(data: impl Into<SecretBytes>) -> Bytes {
    Bytes::from_owner(data.into())
}

/// Zeroizes `data` now if nothing else shares its allocation (a slice of
/// a connection's read buffer is the connection's to reuse).
pub(crate) fn erase_if_unique(data: Bytes) {
    if let Ok(mut unique) = data.try_into_mut() {
        unique.as_mut().zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_read_as_given() {
        let b = bytes(b"secret".to_vec());
        assert_eq!(&b[..], b"secret");
        assert_eq!(b.slice(1..3), &b"ec"[..]);
    }
}
