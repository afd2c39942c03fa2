//! Fixtures shared by the fuzz targets: one fixed data key, master key and
//! scope, so seed envelopes made by `gen_seeds` open in the targets.

use secrecy::SecretBox;
use strongroom_engine::envelope::Scope;
use strongroom_engine::{DataKey, MasterKey, RecordId, UserId};

/// The data key every envelope target opens with.
pub fn data_key() -> DataKey {
    DataKey::from_secret(&SecretBox::new(Box::new([0x42; 32])))
}

/// The master key of the unwrap target.
pub fn master_key() -> MasterKey {
    MasterKey::from_secret(&SecretBox::new(Box::new([0x24; 32])))
}

/// The data key the unwrap target's seeds wrap.
pub fn wrapped_secret() -> SecretBox<[u8; 32]> {
    SecretBox::new(Box::new([0x42; 32]))
}

/// The user of the unwrap target's seeds.
pub const USER: UserId = UserId::from_u128(7);
/// The key version of every seed.
pub const KEY_VERSION: u32 = 1;

/// The scope every envelope target opens in.
pub fn scope() -> Scope {
    Scope {
        owner: USER,
        record: RecordId::from_u128(9),
    }
}
