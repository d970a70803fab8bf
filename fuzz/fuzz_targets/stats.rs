#![no_main]

use libfuzzer_sys::fuzz_target;
use testkit::model::{sequence::Input, stats};

fuzz_target!(|input: Input| {
    stats::run(&input);
});
