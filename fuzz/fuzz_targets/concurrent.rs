#![no_main]

use libfuzzer_sys::fuzz_target;
use testkit::model::concurrent::{self, Input};

fuzz_target!(|input: Input| concurrent::run(&input));
