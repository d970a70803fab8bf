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
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use parking_lot::Mutex;

#[cfg(loom)]
pub(crate) use self::loom_mutex::Mutex;

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

/// loom's mutex in the shape of parking_lot's: no poisoning, `lock` returns the guard.
#[cfg(loom)]
mod loom_mutex {
    use std::sync::PoisonError;

    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }

        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
        }
    }
}
