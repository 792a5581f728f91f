//! The relay's publications on the wire: one JSON document, cut into NOTIFY payloads
//! (each under PostgreSQL's 8,000 bytes) that all travel in one transaction — so they
//! arrive together and in order — and put back together by each follower.

use serde::{Deserialize, Serialize};

use crate::model::progress::History;
use crate::model::snapshot::Duplicate;

/// The wire format's version; a follower ignores any other.
pub const VERSION: u32 = 1;
/// The most data one payload carries (bytes, cut at a character boundary).
const CHUNK: usize = 7_900;
/// The most payloads one publication may take; a bigger document (a first read of every
/// month at a large scale) is not published: the followers read for themselves.
pub const MAX_CHUNKS: usize = 64;

/// What the leader publishes after each read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    /// Consecutive: a follower that misses one reads for itself once.
    pub seq: u64,
    /// The snapshot statement's document, exactly as the server sent it.
    pub document: String,
    /// The leader's least time between two reads a push may cause (ms): a follower that
    /// wants faster reads the pushed changes itself.
    pub push_gap_ms: u64,
    /// The leader's occasional reads, as last read.
    pub duplicates: Option<Vec<Duplicate>>,
    pub history: Option<History>,
}

/// A publication as NOTIFY payloads (`None`: more than [`MAX_CHUNKS`]).
pub fn cut(p: &Publication) -> Option<Vec<String>> {
    let text = serde_json::to_string(p).ok()?;
    let mut pieces = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    if pieces.len() > MAX_CHUNKS {
        return None;
    }
    let n = pieces.len();
    Some(pieces.iter().enumerate().map(|(i, piece)| format!("{VERSION}|{}|{i}|{n}|{piece}", p.seq)).collect())
}

/// Puts the payloads of one publication back together, in the order they come.
#[derive(Debug, Default)]
pub struct Assembler {
    seq: Option<u64>,
    pieces: Vec<String>,
    expected: usize,
}

/// What one payload completed.
#[derive(Debug, PartialEq)]
pub enum Assembled {
    /// Waiting for more pieces.
    Partial,
    Whole(Box<Publication>),
    /// A piece missing or out of place, or a payload that is not ours: this
    /// publication is lost (the follower reads for itself).
    Broken,
}

impl Assembler {
    pub fn push(&mut self, payload: &str) -> Assembled {
        let mut parts = payload.splitn(5, '|');
        let (Some(v), Some(seq), Some(i), Some(n), Some(piece)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.broken();
        };
        let (Ok(v), Ok(seq), Ok(i), Ok(n)) =
            (v.parse::<u32>(), seq.parse::<u64>(), i.parse::<usize>(), n.parse::<usize>())
        else {
            return self.broken();
        };
        if v != VERSION || n == 0 || n > MAX_CHUNKS || i >= n {
            return self.broken();
        }
        if i == 0 {
            *self = Assembler { seq: Some(seq), pieces: Vec::with_capacity(n), expected: n };
        } else if self.seq != Some(seq) || self.pieces.len() != i || self.expected != n {
            return self.broken();
        }
        self.pieces.push(piece.to_string());
        if self.pieces.len() < n {
            return Assembled::Partial;
        }
        let text = std::mem::take(&mut self.pieces).concat();
        self.seq = None;
        match serde_json::from_str::<Publication>(&text) {
            Ok(p) if p.seq == seq => Assembled::Whole(Box::new(p)),
            _ => Assembled::Broken,
        }
    }

    fn broken(&mut self) -> Assembled {
        *self = Assembler::default();
        Assembled::Broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(seq: u64, size: usize) -> Publication {
        // Multi-byte characters, so that cuts fall inside them if they can.
        let document = "é✓".repeat(size / 5);
        Publication { seq, document, push_gap_ms: 200, duplicates: None, history: None }
    }

    #[test]
    fn a_publication_cut_and_put_back_is_the_same() {
        for size in [10, 7_000, 8_000, 40_000, 200_000] {
            let p = publication(7, size);
            let payloads = cut(&p).unwrap();
            assert!(payloads.iter().all(|x| x.len() < 8_000), "every payload under 8,000 bytes");
            let mut a = Assembler::default();
            let mut out = None;
            for (k, payload) in payloads.iter().enumerate() {
                match a.push(payload) {
                    Assembled::Whole(p) => out = Some(*p),
                    Assembled::Partial => assert!(k + 1 < payloads.len()),
                    Assembled::Broken => panic!("broken at {k}"),
                }
            }
            assert_eq!(out, Some(p), "size {size}");
        }
    }

    #[test]
    fn a_missing_or_foreign_piece_breaks_the_publication() {
        let payloads = cut(&publication(3, 30_000)).unwrap();
        let mut a = Assembler::default();
        assert_eq!(a.push(&payloads[0]), Assembled::Partial);
        assert_eq!(a.push(&payloads[2]), Assembled::Broken, "a piece skipped");
        let mut a = Assembler::default();
        assert_eq!(a.push("hello"), Assembled::Broken);
        assert_eq!(a.push("2|1|0|1|{}"), Assembled::Broken, "another version");
        assert_eq!(a.push("1|1|0|1|{not json"), Assembled::Broken);
        // The next whole publication is taken again.
        let next = cut(&publication(4, 100)).unwrap();
        assert!(matches!(a.push(&next[0]), Assembled::Whole(_)));
    }

    #[test]
    fn too_big_a_document_is_not_published() {
        assert!(cut(&publication(1, 8_000 * MAX_CHUNKS)).is_none());
    }
}
