//! Programs as their JIT images in the executor: every example meets its expectations as it
//! does with the interpreter, the programs see and return the same, and a call's trace steps
//! through the images' x86 instructions.

use fsession_core::emu::jit::IMAGE_ROOM;
use fsession_core::emu::run::{run, EmuOptions};
use fsession_core::emu::trace::EventKind;
use fsession_core::kernel::profile::Profile;
use fsession_core::scenario::Scenario;
use fsession_core::tramp::build::Placement;

mod common;
use common::examples;

#[test]
fn every_example_runs_its_programs_as_jit_images_with_the_same_observations() {
    let mut ran = 0;
    let mut stepped_in_images = 0;
    for (name, text) in examples() {
        let s = Scenario::parse(&text).unwrap();
        let p = Profile::by_name(&s.profile).unwrap();
        let interp = run(&s, &text, &p, EmuOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let opts = EmuOptions {
            jit: true,
            trace: true,
            ..EmuOptions::default()
        };
        let jit = run(&s, &text, &p, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let problems: Vec<String> = jit.problems.iter().map(|p| p.to_string()).collect();
        assert!(problems.is_empty(), "{name}:\n  {}", problems.join("\n  "));
        assert_eq!(jit.calls.len(), interp.calls.len(), "{name}");
        for (a, b) in jit.calls.iter().zip(&interp.calls) {
            assert_eq!(a.ret, b.ret, "{name}: a call's return");
        }
        assert_eq!(jit.observations.len(), interp.observations.len(), "{name}");
        for (a, b) in jit.observations.iter().zip(&interp.observations) {
            let key = |o: &fsession_core::emu::report::Observation| {
                (
                    o.prog.clone(),
                    o.ctx,
                    o.func_meta,
                    o.cookie_ptr,
                    o.cookie_before,
                    o.cookie_after,
                    o.args.clone(),
                    o.retval,
                    o.r0.clone().ok(),
                )
            };
            assert_eq!(key(a), key(b), "{name}: {}", a.prog);
        }
        assert_eq!(jit.data, interp.data, "{name}: map words");
        assert_eq!(jit.counters, interp.counters, "{name}");
        let place = Placement::default();
        let images = (0..s.programs.len())
            .map(|i| place.program(i).bpf_func)
            .collect::<Vec<_>>();
        let inside = jit.trace.iter().flat_map(|t| &t.events).any(|e| match e.kind {
            EventKind::Insn { addr } => images.iter().any(|&b| (b..b + IMAGE_ROOM).contains(&addr)),
            _ => false,
        });
        if !jit.observations.is_empty() {
            assert!(inside, "{name}: no executed instruction inside a JIT image");
            stepped_in_images += 1;
        }
        ran += 1;
    }
    assert!(ran >= 10 && stepped_in_images >= 8, "{ran} {stepped_in_images}");
}
