"""The linear probe: training the whole frozen network against training the head on features computed once.

The naive reference is what a course handout does: freeze the backbone and
train the full model, so every step runs the frozen feature extractor on its
batch (and every epoch's evaluation runs it on the whole training set again).
:func:`nnbook.transfer.compare` computes the frozen features once and trains
the head on them; the tests check that the two give the same head.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.timing import compare
from nnbook import resnet, training, transfer_task


def main() -> None:
    task = transfer_task.digits_task()
    pretrained = resnet.small_resnet(10, (16, 32, 32), seed=0)
    X, y = torch.from_numpy(task.X_train[:300]), torch.from_numpy(task.y_train[:300])
    config = training.TrainConfig(lr=0.1, epochs=6, batch_size=32, optimiser="adam", max_steps=60, seed=0)

    def naive() -> np.ndarray:
        probe = resnet.new_head(pretrained, 2, freeze_features=True, seed=0)
        training.train(probe, config, (X, y))
        return training.predict(probe, task.X_test)

    def fast() -> np.ndarray:
        head = resnet.new_head(pretrained, 2, freeze_features=True, seed=0).head
        features = resnet.extract_features(pretrained, X)
        training.train(head, config, (torch.from_numpy(features), y))
        return training.predict(head, resnet.extract_features(pretrained, task.X_test))

    np.testing.assert_allclose(naive(), fast(), rtol=1e-4, atol=1e-5)
    print("probe: 300 labels, 60 Adam steps of 32, prediction on the 597 test images")
    compare("probe: frozen network each step vs features once", naive, fast, repeat=3)


if __name__ == "__main__":
    main()
