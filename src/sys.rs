//! Calls into libc that have no safe wrapper in std or nix. Every `unsafe` block of the crate
//! lives here, each with the invariant that makes it sound.

use std::ffi::{CStr, CString};
use std::ptr;

/// The resolver's canonical name for `host` (what `hostname -f` prints), or `None` when the
/// name does not resolve. Uses getaddrinfo with `AI_CANONNAME`, so /etc/nsswitch.conf (glibc)
/// or /etc/hosts then DNS (musl) are consulted as for any other lookup.
pub fn canonical_name(host: &str) -> Option<String> {
    let c_host = CString::new(host).ok()?;
    // SAFETY: addrinfo is a plain C struct of integers and pointers; all-zero is its documented
    // "no hints" value, on which we then set flags.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: c_host is a NUL-terminated string that outlives the call, the service is null (allowed
    // when a node is given), hints is initialised, and list is a valid out-pointer.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), ptr::null(), &hints, &mut list) };
    if rc != 0 || list.is_null() {
        return None;
    }
    // SAFETY: getaddrinfo succeeded, so list points to a valid first entry whose ai_canonname is
    // null or a NUL-terminated string owned by the list; we copy it out before freeing the list,
    // and free it exactly once.
    unsafe {
        let name = (*list).ai_canonname;
        let owned = (!name.is_null()).then(|| CStr::from_ptr(name).to_string_lossy().into_owned());
        libc::freeaddrinfo(list);
        owned
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn localhost_resolves_without_the_network() {
        // /etc/hosts maps localhost on every machine this runs on; no DNS query is needed.
        assert!(super::canonical_name("localhost").is_some());
        assert_eq!(super::canonical_name("bad\0name"), None);
    }
}
