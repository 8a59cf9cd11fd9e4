"""Write a small example trace (GPU-shaped, image task, compute contention, 40 inputs).

    python examples/trace_example.py          # writes examples/trace-gpu-image-compute.npz and .csv
    alert trace check examples/trace-gpu-image-compute.npz
    alert evaluate --trace examples/trace-gpu-image-compute.npz --goal min-energy:deadline=0.02,accuracy=0.9
"""

from pathlib import Path

from alert.evaluation import scenarios

HERE = Path(__file__).parent

if __name__ == "__main__":
    tr = scenarios.generate("gpu", "image", "compute", "paper", n_inputs=40, seed=0)
    for suffix in (".npz", ".csv"):
        p = HERE / f"trace-gpu-image-compute{suffix}"
        tr.save(p)
        print("wrote", p)
