// STUB (branch gpu-agents only; the lead deletes this file at merge): the epoch helper's
// init_yuma_block (twin of cpu::epoch::init_yuma_block), which the registration stage calls for a
// new subnet's slot when Yuma is on. The registration parity tests run with Yuma off.
fn init_yuma_block(p: u32, i: u32, step: u32) {}
