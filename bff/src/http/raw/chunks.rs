//! A chunked response body (RFC 9112 §7.1) relayed as it arrives: the chunk data passes
//! through, the framing is written anew (no chunk extensions), and the trailer section is
//! dropped (it could carry fields the browser-bound rules remove, such as `Set-Cookie`).
//! Knowing where the body ends is what lets the upstream connection be reused.

use super::wire::Malformed;

/// Trailer bytes accepted (and dropped) after the last chunk.
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailers(usize),
    Done,
}

#[derive(Debug)]
pub struct Chunks {
    state: State,
}

impl Default for Chunks {
    fn default() -> Self {
        Self { state: State::Size }
    }
}

impl Chunks {
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes what it can of `input`, appending what the browser gets to `out`;
    /// returns the bytes consumed (the rest waits for more input).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, Malformed> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match self.state {
                State::Done => return Ok(at),
                State::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        at += used;
                        self.state = State::Trailers(0);
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        at += used;
                        out.extend_from_slice(format!("{size:x}\r\n").as_bytes());
                        self.state = State::Data(size);
                    }
                    Ok(httparse::Status::Partial) if rest.len() < 1024 => return Ok(at),
                    _ => return Err(Malformed("chunk size")),
                },
                State::Data(left) => {
                    if rest.is_empty() {
                        return Ok(at);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    out.extend_from_slice(&rest[..take]);
                    at += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(at);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(Malformed("chunk end"));
                    }
                    at += 2;
                    out.extend_from_slice(b"\r\n");
                    self.state = State::Size;
                }
                State::Trailers(seen) => {
                    let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                        if seen + rest.len() > MAX_TRAILERS {
                            return Err(Malformed("trailers too large"));
                        }
                        return Ok(at);
                    };
                    at += eol + 2;
                    if eol == 0 {
                        out.extend_from_slice(b"0\r\n\r\n");
                        self.state = State::Done;
                    } else if seen + eol + 2 > MAX_TRAILERS {
                        return Err(Malformed("trailers too large"));
                    } else {
                        self.state = State::Trailers(seen + eol + 2);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes, as reads would bring it.
    fn relay(input: &[u8], step: usize) -> Result<(Vec<u8>, bool), Malformed> {
        let mut chunks = Chunks::default();
        let mut out = Vec::new();
        let mut pending = Vec::new();
        for piece in input.chunks(step) {
            pending.extend_from_slice(piece);
            let used = chunks.feed(&pending, &mut out)?;
            pending.drain(..used);
        }
        Ok((out, chunks.done()))
    }

    #[test]
    fn data_passes_framing_is_rewritten_trailers_dropped() {
        let input =
            b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nSet-Cookie: a=b\r\n\r\n";
        for step in [1, 2, 3, 7, input.len()] {
            let (out, done) = relay(input, step).expect("well-formed");
            assert!(done, "step {step}");
            assert_eq!(
                out,
                b"5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n".to_vec(),
                "step {step}"
            );
        }
    }

    #[test]
    fn the_end_is_found_and_nothing_after_it_is_taken() {
        let mut chunks = Chunks::default();
        let mut out = Vec::new();
        let used = chunks
            .feed(b"0\r\n\r\nHTTP/1.1 200 OK", &mut out)
            .expect("ok");
        assert_eq!(used, 5);
        assert!(chunks.done());
    }

    #[test]
    fn malformed_framing_is_refused() {
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"fffffffffffffffffffff\r\n",
            b"-1\r\n",
        ] {
            assert!(
                relay(bad, bad.len()).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut huge = b"0\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'x', MAX_TRAILERS + 10));
        assert!(relay(&huge, 100).is_err(), "unbounded trailers");
    }
}
