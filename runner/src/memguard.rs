//! A ceiling on the memory one template render may take (`limits::TEMPLATE_MEMORY`).
//!
//! The output of a template is bounded where it is written (`limits::TEMPLATE_OUTPUT`), but a
//! value built inside one render is not: `{% set ns.s = ns.s ~ ns.s %}` in a loop of 40 doubles
//! a string to a terabyte, and minijinja offers no hook to stop it. The allocator below counts
//! what the thread rendering a template allocates while it renders; past the limit it prints
//! which template it was and ends the run with exit code 1, instead of aborting on a failed
//! allocation or taking the machine's memory. It counts nothing outside a render.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    /// Bytes this thread may still allocate in the current render (`isize::MAX`: no render).
    static LEFT: Cell<isize> = const { Cell::new(isize::MAX) };
    /// The template being rendered (pointer and length of a `&str` that `Render` borrows).
    static SOURCE: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
}

/// Writes to stderr without allocating.
fn say(bytes: &[u8]) {
    // SAFETY: a valid buffer and length; write(2) allocates nothing.
    unsafe {
        libc::write(2, bytes.as_ptr().cast(), bytes.len());
    }
}

/// Writes a number to stderr without allocating.
fn say_number(mut n: usize) {
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    say(&buf[i..]);
}

/// The limit is passed: say which template and how to raise the limit, and end the run.
/// Nothing here may allocate: the allocator is what called it.
fn stop() -> ! {
    let limit = &crate::limits::TEMPLATE_MEMORY;
    let n = limit.get();
    let (ptr, len) = SOURCE.try_with(Cell::get).unwrap_or((std::ptr::null(), 0));
    say(b"\nerror: rendering the template '");
    if !ptr.is_null() {
        // SAFETY: `Render` keeps the template text borrowed while SOURCE points at it.
        let src = unsafe { std::slice::from_raw_parts(ptr, len) };
        let mut end = src.len().min(200);
        while end < src.len() && (src[end] & 0xC0) == 0x80 {
            end += 1;
        }
        say(&src[..end]);
        if end < src.len() {
            say(b"...");
        }
    }
    say(b"' took more than ");
    say_number(n);
    say(b" bytes of memory, so the run stops here\n  = help: a loop that doubles a string or a list grows past any size; the limit is ");
    say_number(n);
    say(b" ");
    say(limit.unit.as_bytes());
    say(b"; set ");
    say(limit.env.as_bytes());
    say(b"=");
    say_number(n.saturating_mul(2));
    say(b" (or more) to raise it\n");
    // SAFETY: ends the process at once, without running anything that could allocate.
    unsafe { libc::_exit(1) }
}

fn charge(bytes: isize) {
    let left = LEFT.try_with(|l| {
        let v = l.get();
        if v == isize::MAX {
            return v;
        }
        let n = v - bytes;
        l.set(n);
        n
    });
    if matches!(left, Ok(n) if n < 0) {
        let _ = LEFT.try_with(|l| l.set(isize::MAX));
        stop();
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        charge(-(layout.size() as isize));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        charge(new_size as isize - layout.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// While alive, the current thread's allocations count against the template memory limit.
/// Nested renders (a lookup('template') inside a template) share the outer one's budget.
pub struct Render<'a> {
    outer: bool,
    _src: std::marker::PhantomData<&'a str>,
}

impl<'a> Render<'a> {
    pub fn start(src: &'a str) -> Render<'a> {
        let active = LEFT.try_with(|l| l.get() != isize::MAX).unwrap_or(true);
        if !active {
            // Read before counting starts: the first read of a limit allocates.
            let limit = crate::limits::TEMPLATE_MEMORY.get();
            let _ = SOURCE.try_with(|m| m.set((src.as_ptr(), src.len())));
            let _ = LEFT.try_with(|l| l.set(limit.min(isize::MAX as usize - 1) as isize));
        }
        Render {
            outer: !active,
            _src: std::marker::PhantomData,
        }
    }
}

impl Drop for Render<'_> {
    fn drop(&mut self) {
        if self.outer {
            let _ = LEFT.try_with(|l| l.set(isize::MAX));
            let _ = SOURCE.try_with(|m| m.set((std::ptr::null(), 0)));
        }
    }
}
