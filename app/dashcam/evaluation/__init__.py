"""Evaluation by the model card's method, on KITTI-labelled images or the synthetic world."""
