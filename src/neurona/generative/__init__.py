"""Generative models built on the Keras workflow: GAN (custom train_step), VAE, autoencoders, DBN."""
