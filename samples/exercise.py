import sct
from sct import mse, relu


@sct.differentiate
def loss(x, w, b, y):
    v = w * x
    z = v + b
    h = relu(z)
    yhat = h + z
    return mse(yhat, y)
