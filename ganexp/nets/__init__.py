"""Networks: DCGAN G/D (`dcgan`), condition encoders (`cond`)."""
