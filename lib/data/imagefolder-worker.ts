/** A decoding worker of the image-folder pool (imagefolder.ts): one message in, one image out. */
import { parentPort } from 'worker_threads';
import { decodeImage, ImageTransform } from './imagefolder-decode';

interface Job {
  id: number;
  file: string;
  transform: ImageTransform;
  seed: number;
}

parentPort!.on('message', (job: Job) => {
  decodeImage(job.file, job.transform, job.seed).then(
    (pixels) => parentPort!.postMessage({ id: job.id, pixels }, [pixels.buffer]),
    (e: Error) => parentPort!.postMessage({ id: job.id, error: e.message, name: e.name }),
  );
});
