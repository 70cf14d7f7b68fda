"""Context mixing: what really moves between tokens once the residual stream and LayerNorm
are counted (norms with residual and LayerNorm, GlobEnc, ALTI, value zeroing), their
rollouts, the no-op diagnosis, and faithfulness against gradients and ablation.

May touch: torch and a loaded model (value zeroing reruns a layer; faithfulness takes
gradients).  Never streamlit or plotly.
"""
