"""Teacher cost per training batch: a live MiniLM-L6 pass capturing what the students align (hidden layers 0, 3, 6
and q/k/v of blocks 2, 5; the peers' way: TextBrewer and torchdistill run the teacher every step) vs looking the
same outputs up in `TeacherOutputs` (stored once per example). CPU, 1 thread, batches of 32 fine-food-like
lengths (max_len 32). Run: python benchmarks/distill_teacher_outputs.py"""

import time

import torch

from paperzoo.distill.data import collate
from paperzoo.distill.models import EncoderClassifier, forward_features, load_encoder, minilm_dir
from paperzoo.distill.teacher_outputs import TeacherOutputs
from paperzoo.distill.train import Teacher


def median_time(fn, repeats=5):
    fn()
    t = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        t.append(time.process_time() - t0)
    return sorted(t)[len(t) // 2]


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    backbone = load_encoder(minilm_dir()).eval()
    teacher = Teacher(EncoderClassifier(backbone, 2).eval(), backbone, 12)
    ids = [torch.randint(1000, 20000, (int(n),)).tolist() for n in torch.randint(20, 33, (256,))]
    hid, att = [0, 3, 6], [2, 5]
    t0 = time.process_time()
    store = TeacherOutputs(teacher, ids, 0, hid, att, with_v=False, dtype=torch.float16, batch_size=32)
    build = time.process_time() - t0
    index = torch.arange(32)
    x, mask = collate(ids, index.tolist(), 0)

    def live():
        with torch.no_grad():
            forward_features(teacher.model, backbone, x, mask, hid, att, 12, False, detach=True)

    t_live = median_time(live)
    t_look = median_time(lambda: store.features(index, mask, hid, att))
    print(f"stored {len(ids)} examples in {build:.2f} CPU s ({store.nbytes() / 2**20:.1f} MiB float16)")
    print(f"live teacher pass  {1000 * t_live:8.1f} ms / batch")
    print(f"stored lookup      {1000 * t_look:8.1f} ms / batch   ({t_live / t_look:.0f}x less)")


if __name__ == "__main__":
    main()
