//! Raw DEFLATE (RFC 1951) for the share links, small enough for the page's wasm budget: the
//! encoder finds matches with a hash chain and writes one block with the fixed Huffman codes;
//! the decoder reads every block type (stored, fixed, dynamic), so links made by earlier builds
//! (miniz_oxide level 9, dynamic blocks) still open. Tests cross-check both directions against
//! miniz_oxide.

/// Why a stream does not inflate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The stream ends inside a block.
    #[error("the data ends early")]
    Truncated,
    /// A reserved block type, an invalid code or a distance before the start.
    #[error("the data is not DEFLATE: {0}")]
    Invalid(&'static str),
    /// The output would pass the limit.
    #[error("the data inflates past {0} bytes")]
    TooLarge(usize),
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn bits(&mut self, v: u32, n: u32) {
        self.acc |= u64::from(v) << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.bits(code.reverse_bits() >> (32 - len), len);
    }
    fn literal(&mut self, sym: u32) {
        match sym {
            0..=143 => self.code(0x30 + sym, 8),
            144..=255 => self.code(0x190 + sym - 144, 9),
            256..=279 => self.code(sym - 256, 7),
            _ => self.code(0xc0 + sym - 280, 8),
        }
    }
}

/// Compresses `data` into one fixed-Huffman block.
pub fn compress(data: &[u8]) -> Vec<u8> {
    const WINDOW: usize = 32 * 1024;
    const HASH: usize = 1 << 14;
    let mut w = BitWriter {
        out: Vec::with_capacity(data.len() / 2),
        acc: 0,
        n: 0,
    };
    w.bits(1, 1); // final block
    w.bits(1, 2); // fixed codes
    let mut head = vec![usize::MAX; HASH];
    let mut prev = vec![usize::MAX; data.len()];
    let hash = |i: usize| {
        ((u32::from(data[i]) << 10 ^ u32::from(data[i + 1]) << 5 ^ u32::from(data[i + 2])) as usize) & (HASH - 1)
    };
    let mut i = 0;
    while i < data.len() {
        let (mut best_len, mut best_dist) = (0usize, 0usize);
        if i + 3 <= data.len() {
            let h = hash(i);
            let mut cand = head[h];
            let mut tries = 64;
            while cand != usize::MAX && i - cand <= WINDOW && tries > 0 {
                let max = (data.len() - i).min(258);
                let l = (0..max).take_while(|&k| data[cand + k] == data[i + k]).count();
                if l > best_len {
                    best_len = l;
                    best_dist = i - cand;
                }
                cand = prev[cand];
                tries -= 1;
            }
            prev[i] = head[h];
            head[h] = i;
        }
        if best_len >= 3 {
            let li = LEN_BASE.iter().rposition(|&b| b as usize <= best_len).unwrap_or(0);
            w.literal(257 + li as u32);
            w.bits((best_len - LEN_BASE[li] as usize) as u32, u32::from(LEN_EXTRA[li]));
            let di = DIST_BASE.iter().rposition(|&b| b as usize <= best_dist).unwrap_or(0);
            w.code(di as u32, 5);
            w.bits((best_dist - DIST_BASE[di] as usize) as u32, u32::from(DIST_EXTRA[di]));
            // The positions inside the match go into the chains too.
            let end = (i + best_len).min(data.len().saturating_sub(2));
            let mut k = i + 1;
            while k < end {
                let h = hash(k);
                prev[k] = head[h];
                head[h] = k;
                k += 1;
            }
            i += best_len;
        } else {
            w.literal(u32::from(data[i]));
            i += 1;
        }
    }
    w.literal(256);
    w.bits(0, 7);
    w.out
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl BitReader<'_> {
    fn bits(&mut self, n: u32) -> Result<u32, InflateError> {
        while self.n < n {
            let b = *self.data.get(self.pos).ok_or(InflateError::Truncated)?;
            self.pos += 1;
            self.acc |= u32::from(b) << self.n;
            self.n += 8;
        }
        let v = self.acc & ((1u64 << n) - 1) as u32;
        self.acc = if n == 32 { 0 } else { self.acc >> n };
        self.n -= n;
        Ok(v)
    }
}

/// A canonical Huffman code: symbol counts per length and the symbols in code order.
struct Huffman {
    count: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, InflateError> {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut offs = [0u16; 16];
        for l in 1..16 {
            offs[l] = offs[l - 1] + count[l - 1];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[offs[l as usize] as usize] = s as u16;
                offs[l as usize] += 1;
            }
        }
        Ok(Huffman { count, symbols })
    }

    fn decode(&self, r: &mut BitReader) -> Result<u16, InflateError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= r.bits(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return self
                    .symbols
                    .get((index + (code - first)) as usize)
                    .copied()
                    .ok_or(InflateError::Invalid("code"));
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(InflateError::Invalid("code"))
    }
}

fn codes(
    r: &mut BitReader,
    lit: &Huffman,
    dist: &Huffman,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), InflateError> {
    loop {
        let sym = lit.decode(r)? as usize;
        match sym {
            0..=255 => out.push(sym as u8),
            256 => return Ok(()),
            257..=285 => {
                let li = sym - 257;
                let len = LEN_BASE[li] as usize + r.bits(u32::from(LEN_EXTRA[li]))? as usize;
                let di = dist.decode(r)? as usize;
                if di >= 30 {
                    return Err(InflateError::Invalid("distance code"));
                }
                let d = DIST_BASE[di] as usize + r.bits(u32::from(DIST_EXTRA[di]))? as usize;
                if d > out.len() {
                    return Err(InflateError::Invalid("distance before the start"));
                }
                for _ in 0..len {
                    out.push(out[out.len() - d]);
                }
            }
            _ => return Err(InflateError::Invalid("length code")),
        }
        if out.len() > limit {
            return Err(InflateError::TooLarge(limit));
        }
    }
}

/// Inflates a raw DEFLATE stream, refusing to produce more than `limit` bytes.
pub fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut r = BitReader {
        data,
        pos: 0,
        acc: 0,
        n: 0,
    };
    let mut out = vec![];
    loop {
        let last = r.bits(1)? == 1;
        match r.bits(2)? {
            0 => {
                r.acc = 0;
                r.n = 0;
                let b = |i: usize| data.get(i).copied().ok_or(InflateError::Truncated);
                let len = usize::from(b(r.pos)?) | usize::from(b(r.pos + 1)?) << 8;
                let nlen = usize::from(b(r.pos + 2)?) | usize::from(b(r.pos + 3)?) << 8;
                if len != !nlen & 0xffff {
                    return Err(InflateError::Invalid("stored length"));
                }
                let start = r.pos + 4;
                out.extend_from_slice(data.get(start..start + len).ok_or(InflateError::Truncated)?);
                r.pos = start + len;
            }
            1 => {
                let mut l = [8u8; 288];
                l[144..256].fill(9);
                l[256..280].fill(7);
                codes(&mut r, &Huffman::new(&l)?, &Huffman::new(&[5; 30])?, &mut out, limit)?;
            }
            2 => {
                let nlen = r.bits(5)? as usize + 257;
                let ndist = r.bits(5)? as usize + 1;
                let ncode = r.bits(4)? as usize + 4;
                const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
                let mut cl = [0u8; 19];
                for &o in &ORDER[..ncode] {
                    cl[o] = r.bits(3)? as u8;
                }
                let clh = Huffman::new(&cl)?;
                let mut lengths = vec![];
                while lengths.len() < nlen + ndist {
                    let sym = clh.decode(&mut r)?;
                    let (v, n) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => (
                            *lengths.last().ok_or(InflateError::Invalid("repeat first"))?,
                            3 + r.bits(2)?,
                        ),
                        17 => (0, 3 + r.bits(3)?),
                        _ => (0, 11 + r.bits(7)?),
                    };
                    lengths.extend(std::iter::repeat_n(v, n as usize));
                }
                if lengths.len() > nlen + ndist {
                    return Err(InflateError::Invalid("code lengths"));
                }
                let lit = Huffman::new(&lengths[..nlen])?;
                let dist = Huffman::new(&lengths[nlen..])?;
                codes(&mut r, &lit, &dist, &mut out, limit)?;
            }
            _ => return Err(InflateError::Invalid("block type 3")),
        }
        if out.len() > limit {
            return Err(InflateError::TooLarge(limit));
        }
        if last {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            b"abcabcabcabcabcabcabc".to_vec(),
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/scenarios/links_38.toml"
            ))
            .unwrap(),
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/scenarios/fsession_cookie.toml"
            ))
            .unwrap(),
        ];
        // Pseudo-random bytes (no matches) and long runs (the longest matches).
        let mut x = 0x1234_5678u32;
        v.push(
            (0..5000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect(),
        );
        v.push(vec![7u8; 70_000]);
        v
    }

    #[test]
    fn our_streams_inflate_with_miniz_and_ours() {
        for s in samples() {
            let c = compress(&s);
            assert_eq!(miniz_oxide::inflate::decompress_to_vec(&c).unwrap(), s);
            assert_eq!(inflate(&c, 1 << 20).unwrap(), s);
        }
    }

    #[test]
    fn miniz_streams_inflate_with_ours() {
        for s in samples() {
            for level in [0, 1, 6, 9] {
                let c = miniz_oxide::deflate::compress_to_vec(&s, level);
                assert_eq!(inflate(&c, 1 << 20).unwrap(), s, "level {level}");
            }
        }
    }

    #[test]
    fn damaged_streams_are_errors_not_panics() {
        let c = compress(&samples()[3]);
        for cut in [0, 1, c.len() / 2, c.len() - 1] {
            assert!(inflate(&c[..cut], 1 << 20).is_err());
        }
        assert_eq!(inflate(&[0b111], 100), Err(InflateError::Invalid("block type 3")));
        let big = compress(&[0u8; 10_000]);
        assert_eq!(inflate(&big, 100), Err(InflateError::TooLarge(100)));
        let mut x = 1u32;
        for _ in 0..2000 {
            let junk: Vec<u8> = (0..64)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = inflate(&junk, 1 << 16);
        }
    }

    #[test]
    fn links_stay_short() {
        let s = &samples()[3];
        let ours = compress(s).len();
        let miniz = miniz_oxide::deflate::compress_to_vec(s, 9).len();
        assert!(ours < s.len() / 3, "{ours} of {}", s.len());
        assert!(ours <= miniz * 3 / 2, "fixed codes {ours} B, miniz level 9 {miniz} B");
    }
}
