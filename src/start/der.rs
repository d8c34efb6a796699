//! The little DER that TLS set-up needs: read one element, write one, and turn cert-manager's
//! PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) keys into the PKCS#8 form ZooKeeper's
//! PEM loader reads.
//!
//! Own code rather than a crate: three fixed structures (PKCS#8's PrivateKeyInfo, SEC1's
//! ECPrivateKey, the start of a certificate) are all we read or write, and ring checks every key
//! we produce when it loads it for the key/certificate match.

/// Tags used here.
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
/// Context-specific, constructed: `[0]` and `[1]`.
pub(crate) const CONTEXT_0: u8 = 0xa0;
pub(crate) const CONTEXT_1: u8 = 0xa1;

/// rsaEncryption, 1.2.840.113549.1.1.1 (content octets).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// One element: its tag, its contents, and what follows it.
pub(crate) fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        // Nothing here is 4 GiB long; 0x80 (indefinite) is not DER.
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The contents of the element at the start of `input` if it has `tag`, and what follows.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    read(input).filter(|(t, _, _)| *t == tag).map(|(_, content, rest)| (content, rest))
}

/// One element, encoded.
pub(crate) fn write(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn pkcs8(algorithm: Vec<u8>, private_key: &[u8]) -> Vec<u8> {
    let mut info = write(INTEGER, &[0]);
    info.extend(write(SEQUENCE, &algorithm));
    info.extend(write(OCTET_STRING, private_key));
    write(SEQUENCE, &info)
}

/// A PKCS#1 RSAPrivateKey wrapped as PKCS#8.
pub(crate) fn pkcs8_from_pkcs1(rsa: &[u8]) -> Vec<u8> {
    let mut algorithm = write(OID, RSA_ENCRYPTION);
    algorithm.extend(write(NULL, &[]));
    pkcs8(algorithm, rsa)
}

/// A SEC1 ECPrivateKey wrapped as PKCS#8: the curve moves from the key's `[0]` parameters into
/// the algorithm identifier, as `openssl pkcs8 -topk8` does. `None` when the key does not name
/// its curve or is not an ECPrivateKey.
pub(crate) fn pkcs8_from_sec1(sec1: &[u8]) -> Option<Vec<u8>> {
    let (body, _) = expect(sec1, SEQUENCE)?;
    let (version, rest) = expect(body, INTEGER)?;
    if version != [1] {
        return None;
    }
    let (private, mut rest) = expect(rest, OCTET_STRING)?;
    let mut curve = None;
    let mut public = None;
    while !rest.is_empty() {
        let (tag, content, next) = read(rest)?;
        match tag {
            CONTEXT_0 => curve = Some(expect(content, OID)?.0),
            CONTEXT_1 => public = Some(content),
            _ => return None,
        }
        rest = next;
    }
    let mut inner = write(INTEGER, &[1]);
    inner.extend(write(OCTET_STRING, private));
    if let Some(public) = public {
        inner.extend(write(CONTEXT_1, public));
    }
    let mut algorithm = write(OID, EC_PUBLIC_KEY);
    algorithm.extend(write(OID, curve?));
    Some(pkcs8(algorithm, &write(SEQUENCE, &inner)))
}

/// What a PKCS#8 key is, read from its algorithm identifier, for messages about keys the check
/// cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyAlgorithm {
    Rsa {
        bits: usize,
    },
    /// The curve's name (`P-521`), or its OID in dotted form when it has none here.
    Ec {
        curve: String,
    },
    /// Any other algorithm, its OID in dotted form.
    Other(String),
}

/// Named curves: OID content octets and name.
const CURVES: &[(&[u8], &str)] = &[
    (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], "P-256"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x22], "P-384"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x23], "P-521"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x0a], "secp256k1"),
];

/// The algorithm of a PKCS#8 PrivateKeyInfo, and for RSA the modulus size; `None` when it is not
/// one.
pub(crate) fn key_algorithm(pkcs8: &[u8]) -> Option<KeyAlgorithm> {
    let (info, _) = expect(pkcs8, SEQUENCE)?;
    let (_version, rest) = expect(info, INTEGER)?;
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (oid, parameters) = expect(algorithm, OID)?;
    if oid == RSA_ENCRYPTION {
        let (private, _) = expect(rest, OCTET_STRING)?;
        let (rsa, _) = expect(private, SEQUENCE)?;
        let (_version, rest) = expect(rsa, INTEGER)?;
        let (modulus, _) = expect(rest, INTEGER)?;
        let modulus: Vec<u8> = modulus.iter().copied().skip_while(|b| *b == 0).collect();
        let bits = modulus.first().map_or(0, |top| modulus.len() * 8 - top.leading_zeros() as usize);
        return Some(KeyAlgorithm::Rsa { bits });
    }
    if oid == EC_PUBLIC_KEY {
        let (curve, _) = expect(parameters, OID)?;
        let name =
            CURVES.iter().find(|(c, _)| *c == curve).map_or_else(|| dotted(curve), |(_, n)| n.to_string());
        return Some(KeyAlgorithm::Ec { curve: name });
    }
    Some(KeyAlgorithm::Other(dotted(oid)))
}

/// An OID's content octets in dotted form (X.690 8.19).
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for b in oid {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.extend([first, value - first * 40]);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}

/// A certificate's serial number (hex) and notAfter (as `YYYY-MM-DD HH:MM:SS UTC`), for logs.
pub(crate) fn serial_and_not_after(cert: &[u8]) -> Option<(String, String)> {
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let tbs = match read(tbs)? {
        (CONTEXT_0, _, rest) => rest,
        _ => tbs,
    };
    let (serial, rest) = expect(tbs, INTEGER)?;
    let (_signature, rest) = expect(rest, SEQUENCE)?;
    let (_issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (_, _not_before, rest) = read(validity)?;
    let (tag, not_after, _) = read(rest)?;
    let text = std::str::from_utf8(not_after).ok()?;
    let full = match tag {
        // Two-digit years: 50 to 99 are 19xx (RFC 5280, 4.1.2.5.1).
        UTC_TIME if text.len() >= 12 => {
            let century = if text[..2].parse::<u32>().ok()? >= 50 { "19" } else { "20" };
            format!("{century}{text}")
        }
        GENERALIZED_TIME if text.len() >= 14 => text.to_string(),
        _ => return None,
    };
    let d = |a: usize, b: usize| full.get(a..b);
    let when =
        format!("{}-{}-{} {}:{}:{} UTC", d(0, 4)?, d(4, 6)?, d(6, 8)?, d(8, 10)?, d(10, 12)?, d(12, 14)?);
    let serial = serial.iter().skip_while(|b| **b == 0).map(|b| format!("{b:02X}")).collect::<String>();
    Some((if serial.is_empty() { "00".into() } else { serial }, when))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_short_and_long() {
        assert_eq!(write(OCTET_STRING, &[7; 3]), [0x04, 3, 7, 7, 7]);
        let long = write(OCTET_STRING, &[1; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tag, content, rest) = read(&long).unwrap();
        assert_eq!((tag, content.len(), rest.len()), (OCTET_STRING, 300, 0));
        assert_eq!(read(&[0x04, 0x85, 1, 1, 1, 1, 1]), None, "too long a length");
        assert_eq!(read(&[0x04, 5, 1]), None, "truncated");
        assert_eq!(read(&[0x30, 0x80]), None, "indefinite length is not DER");
    }

    /// A PKCS#8 key of `algorithm` whose private part is `private`.
    fn info(algorithm: &[u8], private: &[u8]) -> Vec<u8> {
        pkcs8(algorithm.to_vec(), private)
    }

    #[test]
    fn key_algorithms_name_the_rsa_size_and_the_curve() {
        for (top, bytes, bits) in [(0x80u8, 128usize, 1024usize), (0x80, 1024, 8192), (0x01, 257, 2049)] {
            let mut modulus = vec![0u8, top];
            modulus.extend(vec![0xff; bytes - 1]);
            let mut rsa = write(INTEGER, &[0]);
            rsa.extend(write(INTEGER, &modulus));
            rsa.extend(write(INTEGER, &[1, 0, 1]));
            let key = pkcs8_from_pkcs1(&write(SEQUENCE, &rsa));
            assert_eq!(key_algorithm(&key), Some(KeyAlgorithm::Rsa { bits }), "{bits}");
        }
        let mut ec = write(OID, EC_PUBLIC_KEY);
        ec.extend(write(OID, &[0x2b, 0x81, 0x04, 0x00, 0x23]));
        assert_eq!(key_algorithm(&info(&ec, &[])), Some(KeyAlgorithm::Ec { curve: "P-521".into() }));
        let mut brainpool = write(OID, EC_PUBLIC_KEY);
        brainpool.extend(write(OID, &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07]));
        assert_eq!(
            key_algorithm(&info(&brainpool, &[])),
            Some(KeyAlgorithm::Ec { curve: "1.3.36.3.3.2.8.1.1.7".into() })
        );
        let ed448 = write(OID, &[0x2b, 0x65, 0x71]);
        assert_eq!(key_algorithm(&info(&ed448, &[])), Some(KeyAlgorithm::Other("1.3.101.113".into())));
        assert_eq!(dotted(RSA_ENCRYPTION), "1.2.840.113549.1.1.1");
        assert_eq!(key_algorithm(b"junk"), None);
    }

    #[test]
    fn sec1_needs_its_curve() {
        let mut key = write(INTEGER, &[1]);
        key.extend(write(OCTET_STRING, &[9; 32]));
        assert_eq!(pkcs8_from_sec1(&write(SEQUENCE, &key)), None);
        key.extend(write(CONTEXT_0, &write(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07])));
        let wrapped = pkcs8_from_sec1(&write(SEQUENCE, &key)).unwrap();
        let (info, _) = expect(&wrapped, SEQUENCE).unwrap();
        let (_, rest) = expect(info, INTEGER).unwrap();
        let (algorithm, _) = expect(rest, SEQUENCE).unwrap();
        let (oid, rest) = expect(algorithm, OID).unwrap();
        assert_eq!(oid, EC_PUBLIC_KEY);
        assert_eq!(expect(rest, OID).unwrap().0, [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    }
}
