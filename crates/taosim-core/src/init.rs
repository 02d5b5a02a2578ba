//! Initial state of a run: a snapshot CSV or a synthetic network (model.md §10).
//!
//! (Loading and the fill rules for missing fields: to be written.)

/// One subnet at the start of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InitialSubnet {
    /// Netuid (1..=subnet_limit); the slot is `netuid - 1`.
    pub netuid: u16,
    /// Name.
    pub name: String,
    /// Pool TAO.
    pub tao: f64,
    /// Pool alpha.
    pub alpha: f64,
    /// Moving price P̄.
    pub moving_price: f64,
    /// Block of registration.
    pub registered_block: u32,
    /// First block with emission.
    pub first_emission_block: u32,
    /// Fraction of miner incentive burned by owner-associated miners.
    pub miner_burn: f64,
    /// Flow EMA S, TAO per block.
    pub flow_ema: f64,
    /// Alpha held by organic stakers.
    pub held_organic: f64,
    /// Alpha held by miners.
    pub held_miners: f64,
    /// Alpha held by validators.
    pub held_validators: f64,
    /// Alpha held by the owner.
    pub held_owner: f64,
    /// Alpha held by root claimers.
    pub held_root: f64,
}

/// The whole network at the start of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InitialNetwork {
    /// The active subnets, by netuid ascending (slots not listed start empty).
    pub subnets: Vec<InitialSubnet>,
    /// TAO total issuance.
    pub issuance: f64,
    /// TAO staked on root.
    pub root_tao: f64,
    /// Start block.
    pub block: u32,
}
