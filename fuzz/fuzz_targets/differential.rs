#![no_main]

use libfuzzer_sys::fuzz_target;
use testkit::model::{differential, sequence::Input};

fuzz_target!(|input: Input| {
    differential::run(&input);
});
