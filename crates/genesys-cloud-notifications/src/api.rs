//! The generated operations over the client's executor, for the listener and the resync.

use genesys_cloud_core::SharedExecutor;

/// The generated operations over one executor.
pub(crate) struct Api(pub(crate) SharedExecutor);

impl genesys_cloud_api::Tags for Api {
    fn executor(&self) -> SharedExecutor {
        self.0.clone()
    }
}
