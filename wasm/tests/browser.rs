//! The JavaScript API in headless Chromium: `CHROMEDRIVER=/usr/bin/chromedriver
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p
//! optiserve-wasm --target wasm32-unknown-unknown --test browser`. (`run_in_browser` applies to
//! the whole test binary, hence this separate file.)

#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn app3_matches_core() {
    common::planner_matches_core(common::APP3, true);
}

#[wasm_bindgen_test]
fn media_pipeline_matches_core() {
    common::planner_matches_core(common::MEDIA, false);
}

#[wasm_bindgen_test]
fn results_have_the_cli_shape() {
    common::results_have_the_cli_shape();
}

#[wasm_bindgen_test]
fn bad_input_is_an_error_with_its_path() {
    common::bad_input_is_an_error_with_its_path();
}

#[wasm_bindgen_test]
fn non_finite_numbers_are_refused() {
    common::non_finite_numbers_are_refused();
}

#[wasm_bindgen_test]
fn free_functions_match_core() {
    common::free_functions_match_core();
}

#[wasm_bindgen_test]
fn seeded_results_equal_the_native_ones() {
    common::seeded_results_equal_the_native_ones();
}

#[wasm_bindgen_test]
fn the_latency_model_can_be_chosen() {
    common::the_latency_model_can_be_chosen();
}
