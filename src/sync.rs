//! The one place that imports synchronization primitives.
//!
//! Every atomic, the mutex, the value cells' interior mutability and allocation, and the
//! epoch-based reclamation scheme used by the map come from here. A normal build gets the real
//! ones; a build with `--cfg loom --cfg crossbeam_loom` (see `loom-tests/README.md`) gets loom's
//! instrumented versions, and crossbeam-epoch switches itself to loom under `crossbeam_loom`, so
//! that the model checker sees every shared access the protocol makes. Both builds offer one
//! shape, so no other file needs a `cfg(loom)`.
//!
//! The map never spins waiting for another thread (every retried compare-and-swap follows some
//! other thread's progress), so it has no `yield_now` to switch; a spin-wait added later must
//! yield through a function exported here.

#[cfg(all(loom, not(crossbeam_loom)))]
compile_error!(
    "`--cfg loom` needs `--cfg crossbeam_loom` as well: without it crossbeam-epoch uses atomics \
     that loom cannot see, and the models pass without exploring (see loom-tests/README.md)"
);

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

pub(crate) use self::mutex::{Mutex, MutexGuard};

/// Allocation of value cells; loom's versions also report, at the end of every explored
/// execution, a cell that was never freed.
#[cfg(not(loom))]
pub(crate) use std::alloc::{alloc, dealloc};

#[cfg(loom)]
pub(crate) use loom::alloc::{alloc, dealloc};

#[cfg(not(loom))]
pub(crate) use self::std_cell::UnsafeCell;

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Epoch-based memory reclamation: pointers, guards and the global collector.
pub(crate) use crossbeam_epoch as epoch;

/// Whether the protocol bug `$name` is compiled in: only in a loom build given
/// `--cfg snapmap_inject="$name"`, to show that the models catch it (see `loom-tests/README.md`).
macro_rules! injected {
    ($name:tt) => {
        cfg!(all(loom, snapmap_inject = $name))
    };
}
pub(crate) use injected;

/// Whether the named protocol bug is injected into this sanitizer build (`--cfg
/// crossbeam_sanitize --cfg snapmap_inject="NAME"`, from `ci/sanitize.sh inject`): for the
/// paths loom does not model, which AddressSanitizer must then catch. Never in a normal build.
macro_rules! injected_for_sanitizer {
    ($name:tt) => {
        cfg!(all(crossbeam_sanitize, snapmap_inject = $name))
    };
}
pub(crate) use injected_for_sanitizer;

/// `std`'s `UnsafeCell` in the shape of loom's, which tracks each access.
#[cfg(not(loom))]
mod std_cell {
    /// A cell whose accesses go through closures, so that loom can check each of them.
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Reads through the pointer `f` is given.
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Writes through the pointer `f` is given.
        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        #[inline]
        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }
}

/// The map's mutex: parking_lot's (loom's in a model), with a check that a thread never takes a
/// lock it already holds.
///
/// The only user code that runs while a shard's lock is held is the key's `Eq`, when an insert of
/// a key that looked absent finds that the shard changed before it got the lock and must look
/// again. An `Eq` that calls back into the same map and needs that lock would deadlock; instead
/// the nested `lock` panics with a message that says so, and the outer operation unwinds without
/// changing the map.
///
/// The check costs a free lock one store on the way in and one on the way out: each lock records
/// its holder (an address unique to the holding thread) beside the lock word, and only a thread
/// that finds the lock taken compares the holder with itself before it waits. A thread reads its own
/// address there only between its own store of it and its own clearing of it, that is, only
/// while it holds the lock; any other value means another thread holds it, or held it a moment
/// ago.
mod mutex {
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::AtomicUsize;
    use std::sync::atomic::Ordering::Relaxed;

    #[cfg(not(loom))]
    use parking_lot::{Mutex as Inner, MutexGuard as InnerGuard};

    #[cfg(loom)]
    use loom::sync::{Mutex as Inner, MutexGuard as InnerGuard};

    #[cfg(not(loom))]
    std::thread_local! {
        static THIS_THREAD: u8 = const { 0 };
    }

    // A model's threads share one OS thread, so they need loom's thread-locals.
    #[cfg(loom)]
    loom::thread_local! {
        static THIS_THREAD: u8 = 0;
    }

    /// An address that no other running thread has: that of the thread's own thread-local.
    fn this_thread() -> usize {
        THIS_THREAD.with(|mine| std::ptr::from_ref(mine) as usize)
    }

    pub(crate) const REENTRANT: &str =
        "snapmap: a key's `Eq` called back into the map while the map \
        held the lock it needs (this would deadlock); `Hash` and `Eq` must not use the map";

    pub(crate) struct Mutex<T> {
        inner: Inner<T>,
        /// The holder's [`this_thread`], or 0: a diagnostic, outside the protocol (so a plain
        /// atomic even in a model, where it adds no states to explore).
        holder: AtomicUsize,
    }

    /// A held lock; unlocks on drop.
    pub(crate) struct MutexGuard<'a, T> {
        inner: InnerGuard<'a, T>,
        holder: &'a AtomicUsize,
    }

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex {
                inner: Inner::new(value),
                holder: AtomicUsize::new(0),
            }
        }

        fn try_inner(&self) -> Option<InnerGuard<'_, T>> {
            #[cfg(not(loom))]
            let inner = self.inner.try_lock();
            #[cfg(loom)]
            let inner = self.inner.try_lock().ok();
            inner
        }

        /// Locks, panicking if this thread already holds this lock.
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            let inner = match self.try_inner() {
                Some(inner) => inner,
                None => {
                    assert!(self.holder.load(Relaxed) != this_thread(), "{REENTRANT}");
                    #[cfg(not(loom))]
                    let inner = self.inner.lock();
                    #[cfg(loom)]
                    let inner = self
                        .inner
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    inner
                }
            };
            self.enter(inner)
        }

        /// Locks if no thread holds the lock (this one included).
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.try_inner().map(|inner| self.enter(inner))
        }

        fn enter<'a>(&'a self, inner: InnerGuard<'a, T>) -> MutexGuard<'a, T> {
            self.holder.store(this_thread(), Relaxed);
            MutexGuard {
                inner,
                holder: &self.holder,
            }
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        fn drop(&mut self) {
            // Before the lock is released (the fields drop after this).
            self.holder.store(0, Relaxed);
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            &self.inner
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.inner
        }
    }
}
