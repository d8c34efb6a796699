//! ZooKeeper's wire encoding (jute) for the few records zk-entry sends and reads: big-endian
//! integers, length-prefixed strings and buffers (length -1 is null, never read as empty),
//! one-byte booleans, and the 4-byte length that frames every packet.
//!
//! Reading is bounded: every length is checked against what is left of the frame, so a hostile
//! or broken peer can make a read fail but never make it allocate beyond the frame it sent.

use anyhow::{Result, bail};

/// A packet being written; [`Writer::frame`] prepends its length.
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn int(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn long(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn boolean(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    /// A buffer: its length, then its bytes.
    pub(crate) fn buffer(&mut self, v: &[u8]) -> &mut Self {
        // Lengths here are ours (paths, config lines, a password): far below i32::MAX.
        self.int(i32::try_from(v.len()).unwrap_or(i32::MAX));
        self.buf.extend_from_slice(v);
        self
    }

    /// A string; `None` is jute's null (length -1), which reconfig needs for absent fields.
    pub(crate) fn string(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(s) => self.buffer(s.as_bytes()),
            None => self.int(-1),
        }
    }

    /// The packet as sent: 4-byte length, then the body.
    pub(crate) fn frame(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + 4);
        out.extend_from_slice(&(self.buf.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.buf);
        out
    }
}

/// A received frame's body, read front to back.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            bail!("a reply ended early: {n} bytes expected, {} left", self.buf.len());
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn int(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn long(&mut self) -> Result<i64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(b))
    }

    /// A buffer, or `None` for jute's null (length -1): null is not empty, and each caller
    /// decides what null means for it. Any other negative length is refused, as ZooKeeper's own
    /// reader refuses it.
    pub(crate) fn buffer(&mut self) -> Result<Option<&'a [u8]>> {
        match self.int()? {
            -1 => Ok(None),
            len if len < 0 => bail!("a reply holds length {len}, neither a size nor null (-1)"),
            len => self.take(len as usize).map(Some),
        }
    }

    /// Skip `n` bytes (fields zk-entry does not use).
    pub(crate) fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_and_frames_carry_their_length() {
        let mut w = Writer::default();
        w.int(-4).long(0x0102_0304_0506_0708).boolean(true);
        assert_eq!(w.frame(), [0, 0, 0, 13, 0xff, 0xff, 0xff, 0xfc, 1, 2, 3, 4, 5, 6, 7, 8, 1]);
    }

    #[test]
    fn strings_are_length_prefixed_and_null_is_minus_one() {
        let mut w = Writer::default();
        w.string(Some("/zk")).string(None).buffer(b"");
        assert_eq!(w.frame()[4..], [0, 0, 0, 3, b'/', b'z', b'k', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    }

    #[test]
    fn reading_round_trips_and_stops_at_the_end() {
        let mut w = Writer::default();
        w.int(7).long(-2).string(Some("server.1=a:1:2")).buffer(&[9, 9]);
        let frame = w.frame();
        let mut r = Reader::new(&frame[4..]);
        assert_eq!(r.int().unwrap(), 7);
        assert_eq!(r.long().unwrap(), -2);
        assert_eq!(r.buffer().unwrap(), Some(&b"server.1=a:1:2"[..]));
        assert_eq!(r.buffer().unwrap(), Some(&[9u8, 9][..]));
        assert!(r.is_empty());
        assert!(r.int().is_err());
    }

    #[test]
    fn a_length_beyond_the_frame_is_an_error_not_an_allocation() {
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, b'x']);
        let err = r.buffer().unwrap_err().to_string();
        assert!(err.contains("2147483647 bytes expected, 1 left"), "{err}");
    }

    #[test]
    fn null_is_none_not_empty_and_other_negative_lengths_are_errors() {
        assert_eq!(Reader::new(&[0xff, 0xff, 0xff, 0xff]).buffer().unwrap(), None);
        assert_eq!(Reader::new(&[0, 0, 0, 0]).buffer().unwrap(), Some(&[][..]));
        let err = Reader::new(&[0xff, 0xff, 0xff, 0xfe, 0]).buffer().unwrap_err().to_string();
        assert!(err.contains("length -2, neither a size nor null"), "{err}");
        let err = Reader::new(&[0x80, 0, 0, 0]).buffer().unwrap_err().to_string();
        assert!(err.contains("length -2147483648"), "{err}");
    }
}
