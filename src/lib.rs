pub use strongroom_engine as engine;
