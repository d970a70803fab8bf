#![no_main]

use libfuzzer_sys::fuzz_target;
use snapmap_fuzz::{sequence::Input, stats};

fuzz_target!(|input: Input| {
    stats::run(&input);
});
