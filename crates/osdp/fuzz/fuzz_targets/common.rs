//! What the Control Panel fuzz targets share: the panel under test, serving one commissioned
//! reader.

use strongroom_osdp::cp::{ControlPanel, CpConfig, ReaderConfig, ReaderKey};

/// OSDP address of the one reader on the fuzzed bus.
pub const READER_ADDRESS: u8 = 1;

/// A Control Panel with one reader at [`READER_ADDRESS`], commissioned with a fixed SCBK.
pub fn control_panel() -> Option<ControlPanel> {
    ControlPanel::new(
        CpConfig::default(),
        vec![ReaderConfig {
            address: READER_ADDRESS,
            key: ReaderKey::Commissioned([7; 16]),
        }],
    )
    .ok()
}
