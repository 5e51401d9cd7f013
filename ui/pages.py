"""The app's pages, named once: each page's file (for ``st.switch_page``) and its name as the
sidebar shows it (for buttons that open it). Streamlit finds the pages by the files in
``pages/``; a test checks that this list and that folder agree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    path: str  # relative to Home.py, as st.switch_page takes it
    label: str  # the sidebar's name for it: the file name without its number, "_" as spaces


LESSONS = Page("pages/0_Lessons.py", "Lessons")
TRAIN = Page("pages/1_Train.py", "Train")
RECONSTRUCTIONS = Page("pages/2_Reconstructions.py", "Reconstructions")
ACTIVATIONS = Page("pages/3_Activations.py", "Activations")
FEATURES = Page("pages/4_Features.py", "Features")
LATENT_SPACE = Page("pages/5_Latent_space.py", "Latent space")
LINEAR_VS_PCA = Page("pages/6_Linear_vs_PCA.py", "Linear vs PCA")
COMPARE = Page("pages/7_Compare.py", "Compare")

PAGES = (
    LESSONS,
    TRAIN,
    RECONSTRUCTIONS,
    ACTIVATIONS,
    FEATURES,
    LATENT_SPACE,
    LINEAR_VS_PCA,
    COMPARE,
)
